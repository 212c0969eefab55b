//! `keygate keys --db postgres://..`: the same commands as on an SQLite file, against the
//! real PostgreSQL server of `KEYGATE_TEST_DATABASE_URL`, with the keys they make checked
//! by the runtime's `Keyring` over the same database, in a schema of the test's own.

use std::process::Command;

use keygate::keys::{Keyring, PostgresStore};
use keygate::spec::{Location, Scheme, SchemeKind};
use keygate::{Credential, OperationRef, Verdict, Verifier, VerifyRequest};
use secrecy::SecretString;
use serde_json::Value;

const API_KEY: Scheme = Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
};

/// A schema of this test's own on the test server, dropped before and after.
struct Schema {
    url: String,
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Schema {
    fn new(test: &str) -> Option<Schema> {
        let url = keygate_tests::postgres_url()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let schema = Schema {
            url,
            name: format!("kgt_cli_{test}_{}", std::process::id()),
            runtime,
        };
        schema.drop_schema();
        Some(schema)
    }

    fn drop_schema(&self) {
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        self.runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                .await
                .expect("connect to KEYGATE_TEST_DATABASE_URL");
            tokio::spawn(connection);
            client.batch_execute(&sql).await.expect("drop the schema");
        });
    }

    /// `keygate keys --db URL --schema NAME <args>`, as JSON when it prints any.
    #[track_caller]
    fn keys(&self, args: &[&str]) -> Value {
        let output = Command::new(env!("CARGO_BIN_EXE_keygate"))
            .args(["keys", "--db", &self.url, "--schema", &self.name])
            .args(args)
            .env_remove("KEYGATE_DB")
            .env_remove("KEYGATE_PG_SCHEMA")
            .output()
            .expect("run keygate");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "keygate keys {args:?}: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or(Value::Null)
    }

    /// What the runtime's keyring over this schema says of `key` on `listPets`.
    fn verify(&self, key: &str) -> Verdict {
        self.runtime.block_on(async {
            let store = PostgresStore::builder(&self.url).schema(&self.name);
            let ring = Keyring::new(store.connect().await.expect("connect the store"));
            let credential = Credential::Key(SecretString::from(key.to_owned()));
            let request = VerifyRequest {
                scheme: &API_KEY,
                credential: credential.lend(),
                operation: OperationRef {
                    method: "GET",
                    path: "/pets",
                    operation_id: Some("listPets"),
                },
                request: None,
            };
            ring.verify(request).await.expect("verify")
        })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.drop_schema();
    }
}

fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no `{field}` in {value}"))
        .to_owned()
}

#[test]
fn every_command_works_on_postgresql() {
    let Some(db) = Schema::new("commands") else {
        return;
    };
    let created = db.keys(&["create", "--json", "--name", "pg", "--owner", "alice"]);
    let (id, key) = (text(&created, "id"), text(&created, "key"));
    assert!(matches!(db.verify(&key), Verdict::Granted(_)));

    let listed = db.keys(&["list", "--json"]);
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(text(&db.keys(&["show", &id, "--json"]), "status"), "active");

    let rotated = db.keys(&["rotate", &id, "--grace", "0", "--json"]);
    let new_key = text(&rotated, "key");
    assert!(
        matches!(db.verify(&key), Verdict::Invalid),
        "the old secret"
    );
    assert!(matches!(db.verify(&new_key), Verdict::Granted(_)));

    db.keys(&["disable-owner", "alice"]);
    assert!(matches!(db.verify(&new_key), Verdict::Disabled));
    assert_eq!(
        text(&db.keys(&["show", &id, "--json"]), "status"),
        "disabled"
    );
    db.keys(&["enable-owner", "alice"]);
    assert!(matches!(db.verify(&new_key), Verdict::Granted(_)));

    db.keys(&["revoke", &id]);
    assert!(matches!(db.verify(&new_key), Verdict::Revoked));
    let revoked = db.keys(&["list", "--json", "--status", "revoked"]);
    assert_eq!(
        revoked["items"].as_array().map(Vec::len),
        Some(1),
        "{revoked}"
    );
}

/// A URL's password never reaches the terminal, even when the server is not there.
#[test]
fn a_postgresql_url_is_shown_without_its_password() {
    let output = Command::new(env!("CARGO_BIN_EXE_keygate"))
        .args([
            "keys",
            "--db",
            "postgres://keygate:s3cretpw@127.0.0.1:1/keys",
            "list",
        ])
        .env_remove("KEYGATE_DB")
        .output()
        .expect("run keygate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("keygate: postgres://keygate@127.0.0.1:1/keys (schema keygate): "),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cretpw"), "{stderr}");
}
