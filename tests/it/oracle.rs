//! §4 (with the §3 reading rules it relies on) against an oracle written from
//! SEMANTICS.md alone: random requirements over five schemes, random credentials,
//! decided in-process by `Guard::authorize_operation`.

use axum::http::Request;
use keygate::spec::{Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse};
use keygate::{Guard, Principal, Spec, StaticKeys};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The pool: header, query and cookie apiKeys, bearer, basic (indices 0..5).
const SCHEMES: &[Scheme] = &[
    Scheme {
        name: "h",
        kind: SchemeKind::ApiKey {
            location: Location::Header,
            name: "X-Key",
        },
    },
    Scheme {
        name: "q",
        kind: SchemeKind::ApiKey {
            location: Location::Query,
            name: "key",
        },
    },
    Scheme {
        name: "c",
        kind: SchemeKind::ApiKey {
            location: Location::Cookie,
            name: "sid",
        },
    },
    Scheme {
        name: "t",
        kind: SchemeKind::HttpBearer,
    },
    Scheme {
        name: "b",
        kind: SchemeKind::HttpBasic,
    },
];
const BEARER: usize = 3;
const BASIC: usize = 4;

/// Role lists, indexed: the roles a requirement lists and the roles a key holds.
const ROLE_SETS: [&[&str]; 4] = [&[], &["a"], &["b"], &["a", "b"]];

/// base64 of `user<r>:pw`, the Basic pair holding `ROLE_SETS[r]`.
const BASIC_PAIRS: [&str; 4] = [
    "dXNlcjA6cHc=",
    "dXNlcjE6cHc=",
    "dXNlcjI6cHc=",
    "dXNlcjM6cHc=",
];
/// base64 of `user0:nope`.
const BASIC_WRONG: &str = "dXNlcjA6bm9wZQ==";

/// How §4.2 answers a requirement holding `{}` when an alternative verified every
/// credential but lacked a role. §4.2 says "presented and failed ... 401" and §4.3
/// would say 403; this oracle takes §4.2 literally (an ambiguity, see the report).
const ANONYMOUS_REQUIREMENT_ROLE_REFUSAL: u16 = 401;

/// What a request carries for one scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Absent,
    /// A valid key holding `ROLE_SETS[r]`.
    Valid(usize),
    Wrong,
    /// The same valid key (holding every role) twice.
    Twice,
    Empty,
}

/// The `Authorization` header is shared by bearer and basic: one of them, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthWord {
    Bearer,
    Basic,
}

#[derive(Debug, Clone)]
struct Case {
    /// Alternatives of (scheme, role set) pairs, in document order.
    requirement: Vec<Vec<(usize, usize)>>,
    /// Header, query and cookie.
    keys: [Sent; 3],
    authorization: (AuthWord, Sent),
}

fn sent() -> impl Strategy<Value = Sent> {
    prop_oneof![
        3 => Just(Sent::Absent),
        4 => (0..4usize).prop_map(Sent::Valid),
        1 => Just(Sent::Wrong),
        1 => Just(Sent::Twice),
        1 => Just(Sent::Empty),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let role_set = prop_oneof![3 => Just(0usize), 1 => 1..4usize];
    let alternative = (
        proptest::sample::subsequence((0..SCHEMES.len()).collect::<Vec<_>>(), 0..=3),
        proptest::array::uniform3(role_set),
    )
        .prop_map(|(schemes, roles)| schemes.into_iter().zip(roles).collect::<Vec<_>>());
    let word = prop_oneof![Just(AuthWord::Bearer), Just(AuthWord::Basic)];
    (
        proptest::collection::vec(alternative, 0..=4),
        proptest::array::uniform3(sent()),
        (word, sent()),
    )
        .prop_map(|(requirement, keys, authorization)| Case {
            requirement,
            keys,
            authorization,
        })
}

// ---------------------------------------------------------------------------------
// The oracle

/// What §3 makes of one scheme's credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Absent, or an empty value.
    Nothing,
    /// A credential that verifies, holding these roles.
    Genuine(&'static [&'static str]),
    /// Presented but failing: unknown, or ambiguous.
    Bad,
}

fn reading_of(sent: Sent) -> Reading {
    match sent {
        Sent::Absent | Sent::Empty => Reading::Nothing,
        Sent::Valid(roles) => Reading::Genuine(ROLE_SETS[roles]),
        Sent::Wrong | Sent::Twice => Reading::Bad,
    }
}

fn reading(case: &Case, scheme: usize) -> Reading {
    if scheme < BEARER {
        return reading_of(case.keys[scheme]);
    }
    let (word, sent) = case.authorization;
    let mine = matches!(
        (word, scheme),
        (AuthWord::Bearer, BEARER) | (AuthWord::Basic, BASIC)
    );
    match sent {
        // Two Authorization lines: ambiguous for every scheme reading that header.
        Sent::Twice => Reading::Bad,
        _ if mine => reading_of(sent),
        // `Authorization: Basic ..` carries nothing for bearer, and the reverse.
        _ => Reading::Nothing,
    }
}

/// (status, winning alternative) as §1.3 and §4 decide them.
fn oracle(case: &Case) -> (u16, Option<usize>) {
    let requirement = &case.requirement;
    if requirement.is_empty() {
        return (200, None);
    }
    let holds = |held: &[&str], roles: usize| ROLE_SETS[roles].iter().all(|r| held.contains(r));
    // §4.1: of the non-anonymous alternatives whose schemes all verify with roles held,
    // the one with the most schemes; the first of those.
    let mut winner: Option<usize> = None;
    for (index, alternative) in requirement.iter().enumerate() {
        let wins = !alternative.is_empty()
            && alternative
                .iter()
                .all(|&(scheme, roles)| match reading(case, scheme) {
                    Reading::Genuine(held) => holds(held, roles),
                    _ => false,
                });
        if wins && winner.is_none_or(|best| requirement[best].len() < alternative.len()) {
            winner = Some(index);
        }
    }
    if winner.is_some() {
        return (200, winner);
    }
    let all_verified = requirement.iter().any(|alternative| {
        !alternative.is_empty()
            && alternative
                .iter()
                .all(|&(scheme, _)| matches!(reading(case, scheme), Reading::Genuine(_)))
    });
    // §4.2: `{}` admits the request when nothing of the requirement was presented.
    if requirement.iter().any(Vec::is_empty) {
        let presented = requirement
            .iter()
            .flatten()
            .any(|&(scheme, _)| reading(case, scheme) != Reading::Nothing);
        return match (presented, all_verified) {
            (false, _) => (200, None),
            (true, true) => (ANONYMOUS_REQUIREMENT_ROLE_REFUSAL, None),
            (true, false) => (401, None),
        };
    }
    // §4.3
    (if all_verified { 403 } else { 401 }, None)
}

/// The id [`keys`] gives the principal of a valid credential for `scheme`.
fn principal_id(case: &Case, scheme: usize) -> String {
    let sent = if scheme < BEARER {
        case.keys[scheme]
    } else {
        case.authorization.1
    };
    match (scheme, sent) {
        (BASIC, Sent::Valid(r)) => format!("user{r}"),
        (_, Sent::Valid(r)) => format!("{}{r}", SCHEMES[scheme].name),
        _ => "not a valid credential".to_owned(),
    }
}

// ---------------------------------------------------------------------------------
// The runtime

fn keys() -> StaticKeys {
    let mut keys = StaticKeys::new();
    for (r, roles) in ROLE_SETS.iter().enumerate() {
        for scheme in &SCHEMES[..BASIC] {
            let principal =
                Principal::new(format!("{}{r}", scheme.name)).with_roles(roles.iter().copied());
            keys = keys.principal(scheme.name, &secret(scheme.name, r), principal);
        }
        let user = format!("user{r}");
        let principal = Principal::new(user.clone()).with_roles(roles.iter().copied());
        keys = keys.basic_principal("b", &user, "pw", principal);
    }
    keys
}

fn secret(scheme: &str, roles: usize) -> String {
    format!("{scheme}-valid-{roles}")
}

/// The value of one credential as sent; `None` for absent. Twice sends it twice.
fn value(scheme: usize, sent: Sent) -> Option<String> {
    let name = SCHEMES[scheme].name;
    let text = match sent {
        Sent::Absent => return None,
        Sent::Valid(r) => secret(name, r),
        Sent::Twice => secret(name, 3),
        Sent::Wrong => format!("{name}-wrong"),
        Sent::Empty => String::new(),
    };
    Some(match scheme {
        BEARER => format!("Bearer {text}"),
        BASIC => match sent {
            Sent::Valid(r) => format!("Basic {}", BASIC_PAIRS[r]),
            Sent::Twice => format!("Basic {}", BASIC_PAIRS[3]),
            Sent::Wrong => format!("Basic {BASIC_WRONG}"),
            _ => "Basic ".to_owned(),
        },
        _ => text,
    })
}

fn request(case: &Case) -> axum::http::request::Parts {
    let times = |sent| if sent == Sent::Twice { 2 } else { 1 };
    let mut builder = Request::builder();
    let mut query = Vec::new();
    // Another cookie line, so reading "all Cookie lines" always matters.
    builder = builder.header("cookie", "theme=dark");
    let [header, query_key, cookie] = case.keys;
    for _ in 0..times(header) {
        if let Some(v) = value(0, header) {
            builder = builder.header("x-key", v);
        }
    }
    for _ in 0..times(query_key) {
        if let Some(v) = value(1, query_key) {
            query.push(format!("key={v}"));
        }
    }
    for _ in 0..times(cookie) {
        if let Some(v) = value(2, cookie) {
            builder = builder.header("cookie", format!("sid={v}"));
        }
    }
    let (word, sent) = case.authorization;
    let scheme = if word == AuthWord::Bearer {
        BEARER
    } else {
        BASIC
    };
    for _ in 0..times(sent) {
        if let Some(v) = value(scheme, sent) {
            builder = builder.header("authorization", v);
        }
    }
    let uri = if query.is_empty() {
        "/op".to_owned()
    } else {
        format!("/op?{}", query.join("&"))
    };
    builder.uri(uri).body(()).expect("request").into_parts().0
}

/// The case's requirement as tables; leaked, as a `Spec` is `'static`.
fn spec(case: &Case) -> &'static Spec {
    let alternatives: Vec<Alternative> = case
        .requirement
        .iter()
        .map(|alternative| {
            let schemes: Vec<SchemeUse> = alternative
                .iter()
                .map(|&(scheme, roles)| SchemeUse {
                    scheme,
                    roles: ROLE_SETS[roles],
                })
                .collect();
            Alternative {
                schemes: Box::leak(schemes.into_boxed_slice()),
            }
        })
        .collect();
    let requirement = Requirement {
        alternatives: Box::leak(alternatives.into_boxed_slice()),
    };
    let operations = Box::leak(Box::new([Operation {
        method: "GET",
        path: "/op",
        operation_id: Some("op"),
        requirement,
    }]));
    Box::leak(Box::new(Spec {
        title: "oracle",
        base_path: "",
        schemes: SCHEMES,
        root: requirement,
        operations,
    }))
}

#[test]
fn runtime_decision_matches_oracle_of_section_4() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let keys = keys();
    let mut runner = TestRunner::new(Config {
        cases: 600,
        ..Config::default()
    });
    let seen = std::cell::RefCell::new(std::collections::BTreeSet::new());
    runner
        .run(&case(), |case| {
            let guard = Guard::new(spec(&case), keys.clone());
            let parts = request(&case);
            let mut principals = Vec::new();
            let decided = match runtime.block_on(guard.authorize_operation(&parts, 0)) {
                Ok(authenticated) => {
                    principals = authenticated
                        .principals()
                        .map(|(scheme, principal)| (scheme, principal.id().to_owned()))
                        .collect();
                    (200, authenticated.alternative())
                }
                Err(rejection) => {
                    if rejection.status() == 401 {
                        // §5: one challenge per scheme of the requirement.
                        let mut schemes: Vec<usize> =
                            case.requirement.iter().flatten().map(|u| u.0).collect();
                        schemes.sort_unstable();
                        schemes.dedup();
                        prop_assert_eq!(rejection.challenges().len(), schemes.len());
                    }
                    (rejection.status().as_u16(), None)
                }
            };
            let expected = oracle(&case);
            seen.borrow_mut().insert((expected.0, expected.1.is_some()));
            prop_assert_eq!(decided, expected, "request {:?}", parts);
            // §4.1: the handler sees the winning alternative's principals, in order.
            let winners = expected
                .1
                .map_or(&[][..], |index| &case.requirement[index][..]);
            let wanted: Vec<(&str, String)> = winners
                .iter()
                .map(|&(scheme, _)| (SCHEMES[scheme].name, principal_id(&case, scheme)))
                .collect();
            prop_assert_eq!(principals, wanted);
            Ok(())
        })
        .unwrap();
    // The generator must reach every kind of outcome, or the comparison proves little.
    let seen = seen.into_inner();
    for outcome in [(200, true), (200, false), (401, false), (403, false)] {
        assert!(
            seen.contains(&outcome),
            "no case decided {outcome:?}; seen {seen:?}"
        );
    }
}
