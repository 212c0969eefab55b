//! Console sessions: made by logging in with an admin key, held in memory, and verified
//! as the `console_session` and `console_csrf` schemes of `specs/admin.yaml`. A session
//! acts as its admin key, whose record is read again on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::digest::{digests_equal, sha256};
use crate::keys::{Clock, KeyRecord, KeyState, KeyStore, StoreError, UnixSeconds};
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
/// At most this many sessions are held; the oldest goes first.
const MAX_SESSIONS: usize = 1000;

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
    /// The CSRF token the console sends with changes (random, shown to the console only).
    pub(crate) csrf: String,
    pub(crate) created_at: UnixSeconds,
    pub(crate) expires_at: UnixSeconds,
}

/// The sessions, by SHA-256 of their cookie value (a lookup never compares the value
/// itself).
#[derive(Default)]
pub(crate) struct Sessions {
    by_digest: Mutex<HashMap<[u8; 32], Session>>,
    /// One-time login links: SHA-256 of the token, the operator, the expiry.
    links: Mutex<HashMap<[u8; 32], (String, UnixSeconds)>>,
}

/// How long a one-time login link works (seconds).
pub(crate) const LINK_TTL: i64 = 600;

/// 32 random bytes as hex, or `None` without randomness (no session is better than a
/// guessable one).
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    /// A new session acting as `who`: its cookie value and the session.
    pub(crate) fn create(&self, who: Who, now: UnixSeconds) -> Option<(String, Session)> {
        let cookie = random_token()?;
        let session = Session {
            who,
            csrf: random_token()?,
            created_at: now,
            expires_at: now.saturating_add(SESSION_TTL),
        };
        let mut map = self.by_digest.lock().ok()?;
        map.retain(|_, s| s.expires_at > now);
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.created_at)
                .map(|(k, _)| *k)?;
            map.remove(&oldest);
        }
        map.insert(sha256(&cookie), session.clone());
        Some((cookie, session))
    }

    /// The live session of this cookie value.
    pub(crate) fn get(&self, cookie: &str, now: UnixSeconds) -> Option<Session> {
        let digest = sha256(cookie);
        let mut map = self.by_digest.lock().ok()?;
        match map.get(&digest) {
            Some(s) if s.expires_at > now => Some(s.clone()),
            Some(_) => {
                map.remove(&digest);
                None
            }
            None => None,
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

    /// Ends the session of this cookie value.
    pub(crate) fn remove(&self, cookie: &str) {
        if let Ok(mut map) = self.by_digest.lock() {
            map.remove(&sha256(cookie));
        }
    }
}

/// Whether `given` is the session's CSRF token (compared in constant time).
pub(crate) fn csrf_matches(session: &Session, given: &str) -> bool {
    bool::from(digests_equal(&sha256(&session.csrf), &sha256(given)))
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
pub(crate) async fn session_key<S: KeyStore>(
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
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) store: Arc<S>,
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
                let Some(session) = self.sessions.get(value, now) else {
                    tracing::debug!("console session unknown or expired");
                    return Ok(Verdict::Invalid);
                };
                let record = match session_key(&*self.store, &session, now).await {
                    Ok(Ok(Some(record))) => record,
                    Ok(Ok(None)) => {
                        if let Who::Operator(operator) = &session.who {
                            return Ok(Verdict::Granted(operator.clone()));
                        }
                        return Ok(Verdict::Invalid);
                    }
                    Ok(Err(verdict)) => {
                        tracing::debug!("console session's admin key stopped");
                        self.sessions.remove(value);
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
                let session = request
                    .request
                    .and_then(|r| r.credential(SESSION_SCHEME))
                    .and_then(|c| {
                        self.sessions
                            .get(crate::verifier::CredentialRef::from(&c).secret(), now)
                    });
                match session {
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
