//! "Did you mean": the known names closest to an unknown one. Std only, so that
//! `keygate-codegen` shares this very file (through a symlink) without depending on the
//! runtime.

/// The names of `known` within a few edits of `unknown` (ignoring case), closest first, at
/// most three: for "did you mean" hints (unknown schemes in the guard and in
/// `keygate check`, unknown operation ids in the `keygate keys` CLI).
pub fn close_names<'a>(unknown: &str, known: &[&'a str]) -> Vec<&'a str> {
    let unknown = unknown.to_lowercase();
    let limit = (unknown.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .map(|&name| (edit_distance(&unknown, &name.to_lowercase()), name))
        .filter(|&(distance, _)| distance <= limit)
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, name)| name).take(3).collect()
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_suggest_typos_only() {
        let known = ["listPets", "createPet", "deletePet", "health"];
        assert_eq!(close_names("creatPet", &known), ["createPet"]);
        assert_eq!(close_names("CREATEPET", &known), ["createPet"]);
        assert_eq!(close_names("deletePets", &known), ["deletePet"]);
        assert!(close_names("somethingElse", &known).is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
