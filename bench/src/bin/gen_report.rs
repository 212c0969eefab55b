//! Generation speed and memory, through the public API and the `keygate` binary, with
//! PASS or MISS against the benchmarks issue's targets.
//!
//! `cargo run --release -p keygate-bench --bin gen_report -- [OPTIONS]`
//!
//! - `--corpus DIR`   big documents (default `../shared/corpus/big` from the workspace root)
//! - `--rounds N`     interleaved rounds for the big documents (default 10)
//! - `--scaling-rounds N` rounds for the synthetic sizes (default 7)
//! - `--keygate PATH` the release `keygate` binary (default: next to this binary)
//! - `--skip-speed`, `--skip-rss`, `--skip-scaling`, `--skip-parsers`
//!
//! Sections:
//! 1. Per big document, in interleaved rounds: `keygate generate FILE -o TMP` against a
//!    child that reads the file and parses it into a `serde_yaml::Value` (the limit),
//!    each a process of its own, the two back to back in each round (order alternating);
//!    the ratio is the median of the rounds' generate / parse, <= 3x (the ratio of
//!    the medians beside it). Both children free their tree before they exit. For
//!    reference, the same in this process through the library (`load_file` +
//!    `generate_module` + write, against the parse alone).
//! 2. Peak RSS of `keygate generate FILE -o TMP` and of a parse-only child; <= 150 MB.
//! 3. Synthetic documents of 10 to 10,000 operations: time per size, no worse than
//!    linear (each tenfold step at most 12.5x).
//! 4. The YAML parsers, per big document in interleaved rounds in this process:
//!    serde_yaml (archived; the limit above), yaml_serde (its maintained continuation,
//!    which keygate uses; the trees must be equal) and yaml-rust2's own loader (another
//!    tree, for reference).
//!
//! CSVs in `<results>` (`$KEYGATE_BENCH_RESULTS`, else `<target>/bench-results`):
//! `gen_speed.csv`, `gen_rss.csv`, `gen_scaling.csv`, `gen_parsers.csv`.

#[allow(dead_code)]
#[path = "../stats.rs"]
mod stats;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use stats::{results_dir, target_dir, verdict, workspace_root, Samples};

/// Largest peak RSS allowed for the largest document, in KiB (150 MB).
const RSS_LIMIT_KIB: i64 = 150 * 1000 * 1000 / 1024;

/// Synthetic operation counts.
const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// Allowed growth per tenfold step: linear plus 25%.
const LINEAR_SLACK: f64 = 1.25;

struct Options {
    corpus: PathBuf,
    rounds: usize,
    scaling_rounds: usize,
    keygate: PathBuf,
    skip_speed: bool,
    skip_rss: bool,
    skip_scaling: bool,
    skip_parsers: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Hidden modes, for the peak-RSS children.
    match args.first().map(String::as_str) {
        Some("--parse-only") => return parse_only(Path::new(&args[1])),
        Some("--rss-of") => return rss_of(&args[1..]),
        // For profiling one size alone: `--write-synthetic OPERATIONS PATH`.
        Some("--write-synthetic") => {
            let operations = args[1].parse().expect("OPERATIONS: a number");
            std::fs::write(&args[2], synthetic_spec(operations)).expect("write");
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let mut options = Options {
        corpus: workspace_root().join("../shared/corpus/big"),
        rounds: 10,
        scaling_rounds: 7,
        keygate: target_dir().join("release/keygate"),
        skip_speed: false,
        skip_rss: false,
        skip_scaling: false,
        skip_parsers: false,
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--corpus" => options.corpus = value().into(),
            "--rounds" => options.rounds = value().parse().expect("--rounds N"),
            "--scaling-rounds" => options.scaling_rounds = value().parse().expect("N"),
            "--keygate" => options.keygate = value().into(),
            "--skip-speed" => options.skip_speed = true,
            "--skip-rss" => options.skip_rss = true,
            "--skip-scaling" => options.skip_scaling = true,
            "--skip-parsers" => options.skip_parsers = true,
            other => panic!("unknown argument {other}"),
        }
    }

    let mut docs: Vec<PathBuf> = std::fs::read_dir(&options.corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", options.corpus.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    docs.sort();
    assert!(
        !docs.is_empty(),
        "no *.yaml in {}",
        options.corpus.display()
    );

    let scratch = std::env::temp_dir().join(format!("keygate-gen-report-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let mut summary = Vec::new();

    if !options.skip_speed {
        speed(
            &docs,
            options.rounds,
            &options.keygate,
            &scratch,
            &mut summary,
        );
    }
    if !options.skip_rss {
        memory(&docs, &options.keygate, &scratch, &mut summary);
    }
    if !options.skip_scaling {
        scaling(options.scaling_rounds, &scratch, &mut summary);
    }
    if !options.skip_parsers {
        parsers(&docs, options.rounds, &mut summary);
    }
    let _ = std::fs::remove_dir_all(&scratch);

    println!("\nsummary (gen_report):");
    for line in &summary {
        println!("  {line}");
    }
    ExitCode::SUCCESS
}

fn name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

/// The limit: read the file and parse it into a `serde_yaml::Value`.
fn parse(path: &Path) -> serde_yaml::Value {
    let text = std::fs::read_to_string(path).expect("read document");
    serde_yaml::from_str(&text).expect("parse document")
}

/// The whole pipeline, as `keygate generate` runs it, through the public API.
fn generate(path: &Path, out: &Path) -> usize {
    let api = keygate_codegen::load_file(path).unwrap_or_else(|e| panic!("{e}"));
    let module = keygate_codegen::generate_module(&api, &keygate_codegen::Templates::builtin())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(out, &module).expect("write module");
    module.len()
}

/// [`generate`] with the seconds of each phase: load, emit, write.
fn generate_phases(path: &Path, out: &Path) -> [f64; 3] {
    let (load, api) =
        seconds(|| keygate_codegen::load_file(path).unwrap_or_else(|e| panic!("{e}")));
    let (emit, module) = seconds(|| {
        keygate_codegen::generate_module(&api, &keygate_codegen::Templates::builtin())
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let (write, ()) = seconds(|| std::fs::write(out, &module).expect("write module"));
    [load, emit, write]
}

fn seconds<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let value = f();
    (start.elapsed().as_secs_f64(), value)
}

/// The wall time of one run of `command` as a child, in seconds; it must succeed.
fn child_seconds(command: &mut Command) -> f64 {
    let start = Instant::now();
    let status = command.status().expect("run child");
    let elapsed = start.elapsed().as_secs_f64();
    assert!(status.success(), "{command:?}: {status}");
    elapsed
}

fn speed(
    docs: &[PathBuf],
    rounds: usize,
    keygate: &Path,
    scratch: &Path,
    summary: &mut Vec<String>,
) {
    println!(
        "generation vs parse (ms; {rounds} interleaved rounds, order alternating each round):"
    );
    let exe = std::env::current_exe().expect("current exe");
    let out = scratch.join("module.rs");
    let cli_parse = |doc: &Path| child_seconds(Command::new(&exe).arg("--parse-only").arg(doc));
    let cli_generate = |doc: &Path| {
        // Removed first, so every run writes the module (`generate` skips an unchanged
        // file).
        let _ = std::fs::remove_file(&out);
        let mut command = Command::new(keygate);
        child_seconds(command.arg("generate").arg(doc).arg("-o").arg(&out))
    };
    // Warm-up: page cache and allocator.
    for doc in docs {
        std::hint::black_box(parse(doc));
        generate(doc, &out);
        cli_parse(doc);
        cli_generate(doc);
    }
    // Per document: the children (the target), then the library in this process.
    let mut times = vec![[(); 4].map(|()| Samples::default()); docs.len()];
    for round in 0..rounds {
        for (i, doc) in docs.iter().enumerate() {
            let mut runs: [Box<dyn FnMut() -> f64>; 4] = [
                Box::new(|| cli_parse(doc)),
                Box::new(|| cli_generate(doc)),
                Box::new(|| {
                    let (s, value) = seconds(|| parse(doc));
                    drop(std::hint::black_box(value));
                    s
                }),
                Box::new(|| seconds(|| generate(doc, &out)).0),
            ];
            let forward = (round + i) % 2 == 0;
            for k in 0..4 {
                // Alternating order: each round runs the limit and the pipeline in turn.
                let k = if forward { k } else { [1, 0, 3, 2][k] };
                times[i][k].0.push(runs[k]() * 1e3);
            }
        }
    }
    let mut csv = String::from(
        "document,bytes,parse_median_ms,parse_min_ms,parse_max_ms,generate_median_ms,generate_min_ms,generate_max_ms,ratio,rounds,library_parse_median_ms,library_generate_median_ms,library_ratio,ratio_of_medians\n",
    );
    for (i, doc) in docs.iter().enumerate() {
        let [parse_ms, gen_ms, library_parse_ms, library_gen_ms] = &times[i];
        // Each round's generate over the parse it ran beside: the machine's speed drifts
        // between rounds by more than a pair's two runs differ.
        let pairs = Samples(
            gen_ms
                .0
                .iter()
                .zip(&parse_ms.0)
                .map(|(g, p)| g / p)
                .collect(),
        );
        let ratio = pairs.median();
        let ratio_of_medians = gen_ms.median() / parse_ms.median();
        let library_ratio = library_gen_ms.median() / library_parse_ms.median();
        let bytes = std::fs::metadata(doc).map_or(0, |m| m.len());
        let _ = writeln!(
            csv,
            "{},{bytes},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{ratio:.3},{rounds},{:.2},{:.2},{library_ratio:.3},{ratio_of_medians:.3}",
            name(doc),
            parse_ms.median(),
            parse_ms.min(),
            parse_ms.max(),
            gen_ms.median(),
            gen_ms.min(),
            gen_ms.max(),
            library_parse_ms.median(),
            library_gen_ms.median(),
        );
        println!("  {} ({:.1} MB)", name(doc), bytes as f64 / 1e6);
        println!("    parse (limit), a child    {}", parse_ms.show(1));
        println!("    keygate generate, a child {}", gen_ms.show(1));
        println!(
            "    library in this process: parse {}, load + generate + write {} ({library_ratio:.2}x; \
             frees the parsed tree)",
            library_parse_ms.show(1),
            library_gen_ms.show(1),
        );
        let line = format!(
            "generate / parse, {}: {ratio:.2}x (median of {} round pairs, min {:.2}, max {:.2}; \
             ratio of medians {ratio_of_medians:.2}x) (target <= 3x): {}",
            name(doc),
            pairs.0.len(),
            pairs.min(),
            pairs.max(),
            verdict(ratio <= 3.0)
        );
        println!("    {line}");
        summary.push(line);
    }
    std::fs::write(results_dir().join("gen_speed.csv"), csv).expect("write csv");
}

/// The YAML parsers keygate could stand on, side by side: each parse builds its tree
/// and frees it, as the loader's callers do.
fn parsers(docs: &[PathBuf], rounds: usize, summary: &mut Vec<String>) {
    const NAMES: [&str; 3] = ["serde_yaml", "yaml_serde", "yaml-rust2"];
    println!("\nYAML parsers (ms in this process; {rounds} interleaved rounds, order rotating):");
    let mut csv = String::from("document,parser,median_ms,min_ms,max_ms,vs_serde_yaml\n");
    for doc in docs {
        let text = std::fs::read_to_string(doc).expect("read document");
        let archived: serde_yaml::Value = serde_yaml::from_str(&text).expect("serde_yaml");
        let maintained: yaml_serde::Value = yaml_serde::from_str(&text).expect("yaml_serde");
        // Both print their trees the same way, so equal text is an equal tree.
        let same_tree = format!("{archived:?}") == format!("{maintained:?}");
        drop((archived, maintained));
        let runs: [&dyn Fn() -> f64; 3] = [
            &|| seconds(|| drop(serde_yaml::from_str::<serde_yaml::Value>(&text))).0,
            &|| seconds(|| drop(yaml_serde::from_str::<yaml_serde::Value>(&text))).0,
            &|| seconds(|| drop(yaml_rust2::YamlLoader::load_from_str(&text))).0,
        ];
        let mut times = [(); 3].map(|()| Samples::default());
        for round in 0..rounds {
            for k in 0..3 {
                let k = (k + round) % 3;
                times[k].0.push(runs[k]() * 1e3);
            }
        }
        println!("  {}", name(doc));
        let base = times[0].median();
        for (parser, samples) in NAMES.iter().zip(&times) {
            let ratio = samples.median() / base;
            println!("    {parser:<11} {} ({ratio:.2}x)", samples.show(1));
            let _ = writeln!(
                csv,
                "{},{parser},{:.2},{:.2},{:.2},{ratio:.3}",
                name(doc),
                samples.median(),
                samples.min(),
                samples.max()
            );
        }
        let ratio = times[1].median() / base;
        let line = format!(
            "yaml_serde / serde_yaml, {}: {ratio:.2}x, same tree: {}",
            name(doc),
            if same_tree { "yes" } else { "NO" }
        );
        println!("    {line}");
        summary.push(line);
    }
    std::fs::write(results_dir().join("gen_parsers.csv"), csv).expect("write csv");
}

/// Hidden mode: parse only, so its peak RSS can be compared with `keygate generate`'s.
fn parse_only(path: &Path) -> ExitCode {
    // Freed before the exit, as `keygate generate` frees its tree.
    drop(std::hint::black_box(parse(path)));
    ExitCode::SUCCESS
}

/// Hidden mode: run a command, then print its peak RSS in KiB. Its own process, so
/// `RUSAGE_CHILDREN` covers exactly one child.
fn rss_of(command: &[String]) -> ExitCode {
    let status = Command::new(&command[0])
        .args(&command[1..])
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", command[0]));
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    println!("{}", usage.max_rss());
    if status.success() {
        ExitCode::SUCCESS
    } else {
        eprintln!("{command:?}: {status}");
        ExitCode::FAILURE
    }
}

/// Peak RSS (KiB) of `command`, run under `--rss-of` in a child of this binary.
fn peak_rss(command: &[&str]) -> i64 {
    let exe = std::env::current_exe().expect("current exe");
    let output = Command::new(exe)
        .arg("--rss-of")
        .args(command)
        .output()
        .expect("run child");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("KiB")
}

fn memory(docs: &[PathBuf], keygate: &Path, scratch: &Path, summary: &mut Vec<String>) {
    assert!(
        keygate.exists(),
        "{} missing: cargo build --release -p keygate-codegen --bin keygate, or --keygate PATH",
        keygate.display()
    );
    println!("\npeak RSS (MB, getrusage of the child; target <= 150 MB for the largest document):");
    let exe = std::env::current_exe().expect("current exe");
    let out = scratch.join("rss-module.rs");
    let mut largest = (0u64, 0i64, String::new());
    let mut csv = String::from("document,bytes,generate_peak_rss_kib,parse_only_peak_rss_kib\n");
    for doc in docs {
        let _ = std::fs::remove_file(&out);
        let generate = peak_rss(&[
            keygate.to_str().expect("utf-8 path"),
            "generate",
            doc.to_str().expect("utf-8 path"),
            "-o",
            out.to_str().expect("utf-8 path"),
        ]);
        let parse = peak_rss(&[
            exe.to_str().expect("utf-8 path"),
            "--parse-only",
            doc.to_str().expect("utf-8 path"),
        ]);
        let bytes = std::fs::metadata(doc).map_or(0, |m| m.len());
        let mb = |kib: i64| kib as f64 * 1024.0 / 1e6;
        println!(
            "  {:<40} keygate generate {:>6.1}   parse only {:>6.1}   ({:.2}x)",
            name(doc),
            mb(generate),
            mb(parse),
            generate as f64 / parse as f64
        );
        let _ = writeln!(csv, "{},{bytes},{generate},{parse}", name(doc));
        if bytes > largest.0 {
            largest = (bytes, generate, name(doc));
        }
    }
    let line = format!(
        "peak RSS, keygate generate, largest document ({}): {:.1} MB (target <= 150 MB): {}",
        largest.2,
        largest.1 as f64 * 1024.0 / 1e6,
        verdict(largest.1 <= RSS_LIMIT_KIB)
    );
    println!("  {line}");
    summary.push(line);
    std::fs::write(results_dir().join("gen_rss.csv"), csv).expect("write csv");
}

/// A document of `operations` operations shaped like a real one: paths with a GET and a
/// POST, three apiKey schemes and a bearer scheme, root security, per-operation ANDs and
/// ORs, parameters, request bodies, responses and a few component schemas.
fn synthetic_spec(operations: usize) -> String {
    let mut s = String::with_capacity(operations * 700);
    s.push_str(
        "openapi: 3.0.3\n\
         info:\n  title: Synthetic\n  version: 1.0.0\n\
         servers:\n  - url: https://api.example.com/v1\n\
         security:\n  - api_key: []\n\
         components:\n\
         \x20 securitySchemes:\n\
         \x20   api_key: {type: apiKey, in: header, name: X-API-Key}\n\
         \x20   app_id: {type: apiKey, in: header, name: X-App-Id}\n\
         \x20   query_key: {type: apiKey, in: query, name: api_key}\n\
         \x20   bearer: {type: http, scheme: bearer}\n\
         \x20 schemas:\n\
         \x20   Item:\n\
         \x20     type: object\n\
         \x20     required: [id, name]\n\
         \x20     properties:\n\
         \x20       id: {type: integer, format: int64}\n\
         \x20       name: {type: string}\n\
         \x20       tags: {type: array, items: {type: string}}\n\
         \x20   Error:\n\
         \x20     type: object\n\
         \x20     properties:\n\
         \x20       code: {type: integer}\n\
         \x20       message: {type: string}\n\
         paths:\n",
    );
    for i in 0..operations.div_ceil(2) {
        // Every fourth POST needs two keys (AND), every fourth one of two (OR), every
        // eighth GET is public; the rest inherit the root requirement.
        let post_security = match i % 4 {
            0 => "      security:\n        - api_key: []\n          app_id: []\n",
            1 => "      security:\n        - api_key: []\n        - query_key: []\n        - bearer: []\n",
            _ => "",
        };
        let get_security = if i % 8 == 7 {
            "      security: []\n"
        } else {
            ""
        };
        let _ = write!(
            s,
            "  /r{i}/items/{{id}}:\n\
             \x20   parameters:\n\
             \x20     - {{name: id, in: path, required: true, schema: {{type: integer}}}}\n\
             \x20   get:\n\
             \x20     operationId: getR{i}\n\
             \x20     summary: Read item of resource {i}.\n\
             \x20     tags: [r{tag}]\n\
             {get_security}\
             \x20     parameters:\n\
             \x20       - {{name: fields, in: query, schema: {{type: string}}}}\n\
             \x20       - {{name: limit, in: query, schema: {{type: integer, maximum: 100}}}}\n\
             \x20     responses:\n\
             \x20       '200':\n\
             \x20         description: The item.\n\
             \x20         content:\n\
             \x20           application/json:\n\
             \x20             schema: {{$ref: '#/components/schemas/Item'}}\n\
             \x20       '401':\n\
             \x20         description: No valid key.\n\
             \x20         content:\n\
             \x20           application/json:\n\
             \x20             schema: {{$ref: '#/components/schemas/Error'}}\n",
            tag = i % 16,
        );
        if 2 * i + 1 < operations {
            let _ = write!(
                s,
                "    post:\n\
                 \x20     operationId: postR{i}\n\
                 \x20     summary: Replace item of resource {i}.\n\
                 \x20     tags: [r{tag}]\n\
                 {post_security}\
                 \x20     requestBody:\n\
                 \x20       required: true\n\
                 \x20       content:\n\
                 \x20         application/json:\n\
                 \x20           schema: {{$ref: '#/components/schemas/Item'}}\n\
                 \x20     responses:\n\
                 \x20       '201': {{description: Replaced.}}\n\
                 \x20       '401': {{description: No valid key.}}\n\
                 \x20       '403': {{description: Not allowed.}}\n",
                tag = i % 16,
            );
        }
    }
    s
}

fn scaling(rounds: usize, scratch: &Path, summary: &mut Vec<String>) {
    println!(
        "\ngeneration scaling (synthetic documents; {rounds} interleaved rounds; ms per generate):"
    );
    let out = scratch.join("scaling-module.rs");
    let files: Vec<(usize, PathBuf, u64)> = SIZES
        .iter()
        .map(|&ops| {
            let path = scratch.join(format!("synthetic-{ops}.yaml"));
            let text = synthetic_spec(ops);
            std::fs::write(&path, &text).expect("write synthetic spec");
            let api = keygate_codegen::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(api.operations.len(), ops, "synthetic operation count");
            (ops, path, text.len() as u64)
        })
        .collect();
    // Small sizes repeat inside a sample so each sample lasts long enough to time.
    let reps: Vec<usize> = files
        .iter()
        .map(|(_, path, _)| {
            let (s, _) = seconds(|| generate(path, &out));
            ((0.05 / s).ceil() as usize).clamp(1, 1000)
        })
        .collect();
    let mut ms = vec![Samples::default(); files.len()];
    let mut parse_ms = vec![Samples::default(); files.len()];
    // Per size: load, emit, write (ms per generate).
    let mut phases =
        vec![[Samples::default(), Samples::default(), Samples::default()]; files.len()];
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.rotate_left(round % files.len());
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let mut sum = [0.0; 3];
            let (s, _) = seconds(|| {
                for _ in 0..reps[i] {
                    let split = generate_phases(&files[i].1, &out);
                    sum.iter_mut().zip(split).for_each(|(a, b)| *a += b);
                }
            });
            ms[i].0.push(s * 1e3 / reps[i] as f64);
            // The parse alone, outside the timed total, to show what load adds to it.
            let (p, _) = seconds(|| {
                for _ in 0..reps[i] {
                    std::hint::black_box(parse(&files[i].1));
                }
            });
            parse_ms[i].0.push(p * 1e3 / reps[i] as f64);
            for (phase, total) in phases[i].iter_mut().zip(sum) {
                phase.0.push(total * 1e3 / reps[i] as f64);
            }
        }
    }
    let mut csv = String::from(
        "operations,file_bytes,median_ms,min_ms,max_ms,us_per_operation,load_ms,emit_ms,write_ms,parse_ms,repetitions,rounds\n",
    );
    for (i, (ops, _, bytes)) in files.iter().enumerate() {
        let per_op = ms[i].median() * 1e3 / *ops as f64;
        let [load, emit, write] = phases[i].clone().map(|p| p.median());
        println!(
            "  {ops:>6} ops ({:>7.1} kB)  {} ms   {per_op:.1} µs/op   \
             (load {load:.2} (parse alone {:.2}), emit {emit:.2}, write {write:.2} ms; {} per sample)",
            *bytes as f64 / 1e3,
            ms[i].show(2),
            parse_ms[i].median(),
            reps[i]
        );
        let _ = writeln!(
            csv,
            "{ops},{bytes},{:.4},{:.4},{:.4},{per_op:.3},{load:.4},{emit:.4},{write:.4},{:.4},{},{rounds}",
            ms[i].median(),
            ms[i].min(),
            ms[i].max(),
            parse_ms[i].median(),
            reps[i]
        );
    }
    let mut linear = true;
    let steps: Vec<String> = (1..files.len())
        .map(|i| {
            let growth = ms[i].median() / ms[i - 1].median();
            let allowed = files[i].0 as f64 / files[i - 1].0 as f64 * LINEAR_SLACK;
            linear &= growth <= allowed;
            format!("{}->{}: {growth:.2}x", files[i - 1].0, files[i].0)
        })
        .collect();
    let line = format!(
        "generation scaling, no worse than linear (each tenfold step <= 12.5x): {}: {}",
        steps.join(", "),
        verdict(linear)
    );
    println!("  {line}");
    summary.push(line);
    // Where the growth comes from: the parse alone (serde_yaml, the limit of the speed
    // target) grows on its own; generate / parse at each size shows whether keygate's
    // share grows with it.
    let growth: Vec<String> = (1..files.len())
        .map(|i| {
            format!(
                "{}->{}: {:.2}x",
                files[i - 1].0,
                files[i].0,
                parse_ms[i].median() / parse_ms[i - 1].median()
            )
        })
        .collect();
    let share: Vec<String> = files
        .iter()
        .enumerate()
        .map(|(i, (ops, _, _))| format!("{ops}: {:.2}x", ms[i].median() / parse_ms[i].median()))
        .collect();
    println!(
        "  for reference, the parse alone: {}; generate / parse at each size: {}",
        growth.join(", "),
        share.join(", ")
    );
    let path = results_dir().join("gen_scaling.csv");
    std::fs::write(&path, csv).expect("write csv");
    println!("  wrote {}", path.display());
}
