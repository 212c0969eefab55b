//! Console sessions: made by logging in with an admin key, kept in the key store (digests
//! only, so every instance sharing it knows them), and verified as the `console_session`
//! and `console_csrf` schemes of `specs/admin.yaml`. A session acts as its admin key,
//! whose record is read again on every request. `keygate console`'s one-time links and
//! the operator sessions they open stay in the process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::digest::{digests_equal, sha256};
use crate::keys::{
    Clock, ConsoleSession, KeyRecord, KeyState, KeyStore, Keyring, StoreError, UnixSeconds,
};
use crate::verifier::{Principal, Verdict, Verifier, VerifyError, VerifyRequest};

/// The console's cookie: the `console_session` scheme's name in `specs/admin.yaml`.
pub(crate) const COOKIE: &str = "keygate_console";
/// The scheme names of `specs/admin.yaml`.
pub(crate) const SESSION_SCHEME: &str = "console_session";
pub(crate) const CSRF_SCHEME: &str = "console_csrf";
/// The scheme a session stands in for: its admin key must be allowed there.
pub(crate) const ADMIN_KEY_SCHEME: &str = "admin_key";
/// How long a session lasts (seconds).
pub(crate) const SESSION_TTL: i64 = 8 * 3600;

/// Who a session acts as.
#[derive(Clone)]
pub(crate) enum Who {
    /// An admin key, with SHA-256 of the secret it logged in with: a rotation ends the
    /// session once the old secret stops working.
    Key { id: String, secret_digest: [u8; 32] },
    /// The operator at the terminal of `keygate console`, logged in by its one-time
    /// link: a principal named after the OS user, with the admin role and every
    /// permission; audited as the CLI.
    Operator(Principal),
}

/// One logged-in console.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) who: Who,
    /// SHA-256 of the session's CSRF token ([`csrf_token`] of its cookie value).
    pub(crate) csrf_digest: [u8; 32],
    pub(crate) created_at: UnixSeconds,
    pub(crate) expires_at: UnixSeconds,
}

/// How long a one-time login link works (seconds).
pub(crate) const LINK_TTL: i64 = 600;

/// 32 random bytes as hex, or `None` without randomness (no session is better than a
/// guessable one).
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Labels the CSRF token's derivation, so it is no other digest of the cookie.
const CSRF_LABEL: &str = "keygate console CSRF token\n";

/// The CSRF token of a session: derived from its cookie value (SHA-256 with a label),
/// so the server can give it to the page again from the cookie alone while the store
/// keeps only its digest; knowing it reveals nothing of the cookie.
pub(crate) fn csrf_token(cookie: &str) -> String {
    hex(&sha256(&format!("{CSRF_LABEL}{cookie}")))
}

/// What `keygate console` keeps in its one process: the one-time login links and the
/// sessions they open (sessions of admin keys live in the store, shared by every
/// instance).
#[derive(Default)]
pub(crate) struct LocalSessions {
    /// The operator's sessions, by SHA-256 of their cookie value.
    operators: Mutex<HashMap<[u8; 32], Session>>,
    /// One-time login links: SHA-256 of the token, the operator, the expiry.
    links: Mutex<HashMap<[u8; 32], (String, UnixSeconds)>>,
}

/// At most this many operator sessions are held in memory; the oldest goes first.
const MAX_LOCAL_SESSIONS: usize = 1000;

impl LocalSessions {
    fn insert(&self, digest: [u8; 32], session: Session, now: UnixSeconds) -> Option<()> {
        let mut map = self.operators.lock().ok()?;
        map.retain(|_, s| s.expires_at > now);
        while map.len() >= MAX_LOCAL_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.created_at)
                .map(|(k, _)| *k)?;
            map.remove(&oldest);
        }
        map.insert(digest, session);
        Some(())
    }

    fn get(&self, digest: &[u8; 32], now: UnixSeconds) -> Option<Session> {
        let map = self.operators.lock().ok()?;
        map.get(digest).filter(|s| s.expires_at > now).cloned()
    }

    fn remove(&self, digest: &[u8; 32]) {
        if let Ok(mut map) = self.operators.lock() {
            map.remove(digest);
        }
    }

    /// A token that logs a console in once, as `operator`, within [`LINK_TTL`].
    pub(crate) fn add_link(&self, operator: &str, now: UnixSeconds) -> Option<String> {
        let token = random_token()?;
        let mut links = self.links.lock().ok()?;
        links.retain(|_, (_, expires)| *expires > now);
        links.insert(
            sha256(&token),
            (operator.to_owned(), now.saturating_add(LINK_TTL)),
        );
        Some(token)
    }

    /// The operator of a one-time token, which it uses up.
    pub(crate) fn redeem(&self, token: &str, now: UnixSeconds) -> Option<String> {
        let mut links = self.links.lock().ok()?;
        let (operator, expires) = links.remove(&sha256(token))?;
        (expires > now).then_some(operator)
    }
}

/// The console's sessions: admin keys' in the store (by SHA-256 of the cookie value, so a
/// lookup never compares the value itself), the operator's in [`LocalSessions`].
pub(crate) struct Sessions<S> {
    pub(crate) local: Arc<LocalSessions>,
    /// Reads the admin keys, and records their use.
    pub(crate) keyring: Arc<Keyring<S>>,
}

impl<S: KeyStore> Sessions<S> {
    fn store(&self) -> &S {
        self.keyring.store()
    }

    /// A new session acting as `who`: its cookie value and the session.
    pub(crate) async fn create(
        &self,
        who: Who,
        now: UnixSeconds,
    ) -> Result<(String, Session), StoreError> {
        let no_randomness = || StoreError::unavailable("no randomness for a console session");
        let cookie = random_token().ok_or_else(no_randomness)?;
        let session = Session {
            who,
            csrf_digest: sha256(&csrf_token(&cookie)),
            created_at: now,
            expires_at: now.saturating_add(SESSION_TTL),
        };
        let digest = sha256(&cookie);
        match &session.who {
            Who::Key { id, secret_digest } => {
                let stored = ConsoleSession {
                    id_sha256: digest,
                    key_id: id.clone(),
                    secret_sha256: *secret_digest,
                    csrf_sha256: session.csrf_digest,
                    created_at: session.created_at,
                    expires_at: session.expires_at,
                };
                self.store().create_session(stored).await?;
            }
            Who::Operator(_) => {
                let lost = || StoreError::unavailable("console session lock poisoned");
                (self.local)
                    .insert(digest, session.clone(), now)
                    .ok_or_else(lost)?;
            }
        }
        Ok((cookie, session))
    }

    /// The live session of this cookie value.
    pub(crate) async fn get(
        &self,
        cookie: &str,
        now: UnixSeconds,
    ) -> Result<Option<Session>, StoreError> {
        let digest = sha256(cookie);
        if let Some(session) = self.local.get(&digest, now) {
            return Ok(Some(session));
        }
        let stored = self.store().get_session(&digest, now).await?;
        Ok(stored.filter(|s| s.is_live(now)).map(|s| Session {
            who: Who::Key {
                id: s.key_id,
                secret_digest: s.secret_sha256,
            },
            csrf_digest: s.csrf_sha256,
            created_at: s.created_at,
            expires_at: s.expires_at,
        }))
    }

    /// Ends the session of this cookie value, wherever it is kept.
    pub(crate) async fn remove(&self, cookie: &str) -> Result<(), StoreError> {
        let digest = sha256(cookie);
        self.local.remove(&digest);
        self.store().delete_session(&digest).await
    }

    /// What a session acts as now: its admin key's record when it still works (`None`
    /// for the operator), or the verdict that ends it. A working key's session counts as
    /// a use of the key, recorded as the keyring records them.
    pub(crate) async fn acting(
        &self,
        session: &Session,
        now: UnixSeconds,
    ) -> Result<Result<Option<Arc<KeyRecord>>, Verdict>, StoreError> {
        let found = session_key(self.store(), session, now).await?;
        if let Ok(Some(record)) = &found {
            self.keyring.record_use(record, now).await;
        }
        Ok(found)
    }
}

/// Whether `given` is the session's CSRF token (digests compared in constant time).
pub(crate) fn csrf_matches(session: &Session, given: &str) -> bool {
    bool::from(digests_equal(&session.csrf_digest, &sha256(given)))
}

/// Why an admin key no longer works for its session, or `None` when it does.
pub(crate) async fn key_stops<S: KeyStore>(
    store: &S,
    record: &KeyRecord,
    secret_digest: &[u8; 32],
    now: UnixSeconds,
) -> Result<Option<Verdict>, StoreError> {
    if !record.hashes.matches(secret_digest, now) {
        return Ok(Some(Verdict::Invalid));
    }
    match record.state(now) {
        KeyState::Active => {}
        KeyState::Revoked => return Ok(Some(Verdict::Revoked)),
        KeyState::Expired => return Ok(Some(Verdict::Expired)),
        KeyState::Disabled => return Ok(Some(Verdict::Disabled)),
    }
    if let Some(owner_id) = &record.owner {
        let owner = store.get_owner(owner_id).await?;
        if record.owner_stops(owner.as_ref()).is_some() {
            return Ok(Some(match owner {
                Some(owner) if !owner.enabled => Verdict::Disabled,
                _ => Verdict::Revoked,
            }));
        }
    }
    if !record.allows_scheme(ADMIN_KEY_SCHEME) {
        return Ok(Some(Verdict::Invalid));
    }
    Ok(None)
}

/// What a session acts as now: its admin key's record when it still works (`None` for
/// the operator), or the verdict that ends it.
async fn session_key<S: KeyStore>(
    store: &S,
    session: &Session,
    now: UnixSeconds,
) -> Result<Result<Option<Arc<KeyRecord>>, Verdict>, StoreError> {
    let Who::Key { id, secret_digest } = &session.who else {
        return Ok(Ok(None));
    };
    let Some(record) = store.get(id).await? else {
        return Ok(Err(Verdict::Invalid));
    };
    Ok(match key_stops(store, &record, secret_digest, now).await? {
        Some(verdict) => Err(verdict),
        None => Ok(Some(record)),
    })
}

/// The verifier of the `console_session` and `console_csrf` schemes.
pub(crate) struct SessionVerifier<S> {
    pub(crate) sessions: Arc<Sessions<S>>,
    pub(crate) clock: Arc<dyn Clock>,
}

fn store_error(e: &StoreError) -> VerifyError {
    VerifyError::new(format!("key store: {}", crate::keys::Chain(e)))
}

impl<S: KeyStore> Verifier for SessionVerifier<S> {
    async fn verify(&self, request: VerifyRequest<'_>) -> Result<Verdict, VerifyError> {
        let now = self.clock.now();
        let value = request.credential.secret();
        match request.scheme.name {
            SESSION_SCHEME => {
                let found = self.sessions.get(value, now).await;
                let Some(session) = found.map_err(|e| store_error(&e))? else {
                    tracing::debug!("console session unknown or expired");
                    return Ok(Verdict::Invalid);
                };
                let record = match self.sessions.acting(&session, now).await {
                    Ok(Ok(Some(record))) => record,
                    Ok(Ok(None)) => {
                        if let Who::Operator(operator) = &session.who {
                            return Ok(Verdict::Granted(operator.clone()));
                        }
                        return Ok(Verdict::Invalid);
                    }
                    Ok(Err(verdict)) => {
                        tracing::debug!("console session's admin key stopped");
                        if let Err(e) = self.sessions.remove(value).await {
                            tracing::warn!(error = %crate::keys::Chain(&e), "could not end a console session");
                        }
                        return Ok(verdict);
                    }
                    Err(e) => return Err(store_error(&e)),
                };
                let op = request.operation;
                let allowed = record
                    .permissions
                    .allows(op.method, op.path, op.operation_id);
                let principal = Principal::of_key(record);
                Ok(if allowed {
                    Verdict::Granted(principal)
                } else {
                    Verdict::Forbidden(principal)
                })
            }
            CSRF_SCHEME => {
                // The token must be the one of the session the same request carries.
                let Some(cookie) = request.request.and_then(|r| r.credential(SESSION_SCHEME))
                else {
                    tracing::debug!("console CSRF token without a session");
                    return Ok(Verdict::Invalid);
                };
                let cookie = crate::verifier::CredentialRef::from(&cookie);
                let found = self.sessions.get(cookie.secret(), now).await;
                match found.map_err(|e| store_error(&e))? {
                    Some(session) if csrf_matches(&session, value) => {
                        Ok(Verdict::Granted(Principal::new("console")))
                    }
                    _ => {
                        tracing::debug!("console CSRF token missing or wrong");
                        Ok(Verdict::Invalid)
                    }
                }
            }
            _ => Ok(Verdict::Invalid),
        }
    }

    fn scheme_names(&self) -> Vec<&str> {
        vec![SESSION_SCHEME, CSRF_SCHEME]
    }
}
