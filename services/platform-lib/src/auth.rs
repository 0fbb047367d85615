//! The caller's identity as it travels between services: a signed access token (JWT, HS256) in the gRPC
//! `authorization` metadata entry. Every service verifies it itself, so no hop has to trust another's word
//! about who is calling, and nothing a model writes can choose the account it acts on.

use std::{fmt, path::Path, sync::Arc};

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use tonic::{Request, metadata::MetadataValue};

use crate::{ServiceError, config::Settings, time::now_ms};

/// Roles a caller can hold. Every user is a buyer. `Service` is never granted to a user: only a process holding
/// the signing key mints it, for calls one service makes to another (stock reservations, for example).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Buyer,
    Seller,
    Admin,
    Service,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::Seller => "seller",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }
}

/// Who is calling: the verified subject of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub roles: Vec<Role>,
    /// When the access token stops being valid (ms since the epoch): long-lived streams end then.
    pub expires_at_ms: i64,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The caller, if they hold `role`; a clear 403 otherwise.
    pub fn require(&self, role: Role) -> Result<&Self, ServiceError> {
        if self.has(role) {
            Ok(self)
        } else {
            Err(ServiceError::forbidden(format!(
                "this needs the {} role",
                role.as_str()
            )))
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    roles: Vec<Role>,
    iss: String,
    iat: i64,
    exp: i64,
    jti: String,
}

/// Signs and verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenKeys {
    inner: Arc<KeysInner>,
}

struct KeysInner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    access_ttl_secs: i64,
    /// A key derived from the signing secret for fingerprints of stored requests (never the secret itself).
    fingerprints: [u8; 32],
}

/// SHA-256 of a label and the secret: a key for another purpose that does not reveal the secret.
fn derive_key(secret: &[u8], label: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(label);
    hash.update([0u8]);
    hash.update(secret);
    hash.finalize().into()
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

/// A freshly signed access token and when it stops working.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_at_ms: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, access_ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        // Valid strictly before the `exp` second, as the streams that end at `exp` assume.
        validation.reject_tokens_expiring_in_less_than = 1;
        Self {
            inner: Arc::new(KeysInner {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
                validation,
                issuer: issuer.to_owned(),
                access_ttl_secs,
                fingerprints: derive_key(secret, b"tokshop request fingerprints"),
            }),
        }
    }

    /// A keyed fingerprint (HMAC-SHA256, hex) of `parts`: equal requests give equal fingerprints on every
    /// replica sharing the secret, and a stored fingerprint reveals nothing about a request that held a password
    /// or a card number.
    pub fn fingerprint(&self, parts: &[&[u8]]) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.inner.fingerprints)
        else {
            // A 32-byte key is always accepted; fall back to a plain hash rather than fail a request.
            return crate::sha256_hex(parts);
        };
        for part in parts {
            mac.update(part);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// The keys for these settings: the configured secret, or one generated once and kept in the data dir.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let secret = match &settings.auth.jwt_secret {
            Some(secret) => {
                anyhow::ensure!(
                    secret.expose().len() >= 32,
                    "auth.jwt_secret must be at least 32 bytes"
                );
                secret.expose().as_bytes().to_vec()
            }
            None => load_or_create_secret(&settings.data_dir.join("jwt.secret"))?,
        };
        Ok(Self::new(
            &secret,
            &settings.auth.issuer,
            settings.auth.access_ttl_secs,
        ))
    }

    pub fn access_ttl_secs(&self) -> i64 {
        self.inner.access_ttl_secs
    }

    /// Signs an access token for `user_id` with `roles`, valid for the configured time.
    pub fn issue(&self, user_id: &str, roles: &[Role]) -> Result<AccessToken, ServiceError> {
        self.issue_with_ttl(user_id, roles, self.inner.access_ttl_secs)
    }

    /// A short-lived token naming service `name` (subject `svc_<name>`), for calls between services.
    pub fn issue_service(&self, name: &str) -> Result<AccessToken, ServiceError> {
        self.issue_with_ttl(&format!("svc_{name}"), &[Role::Service], 300)
    }

    /// Signs a token with an explicit lifetime (negative gives an already expired one, for tests).
    pub fn issue_with_ttl(
        &self,
        user_id: &str,
        roles: &[Role],
        ttl_secs: i64,
    ) -> Result<AccessToken, ServiceError> {
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: user_id.to_owned(),
            roles: roles.to_vec(),
            iss: self.inner.issuer.clone(),
            iat: now,
            exp: now + ttl_secs,
            jti: uuid::Uuid::now_v7().simple().to_string(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.inner.encoding,
        )
        .context("signing access token")?;
        Ok(AccessToken {
            token,
            expires_at_ms: (now + ttl_secs) * 1000,
        })
    }

    /// Verifies signature, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<Principal, ServiceError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.inner.decoding, &self.inner.validation)
                .map_err(|err| match err.kind() {
                    ErrorKind::ExpiredSignature => {
                        ServiceError::unauthenticated("access token expired")
                    }
                    _ => ServiceError::unauthenticated("invalid access token"),
                })?;
        Ok(Principal {
            user_id: data.claims.sub,
            roles: data.claims.roles,
            expires_at_ms: data.claims.exp.saturating_mul(1000),
        })
    }

    /// The verified caller of a gRPC request, or `None` if it carries no token.
    pub fn caller<T>(&self, request: &Request<T>) -> Result<Option<Principal>, ServiceError> {
        match bearer_from_metadata(request)? {
            Some(token) => self.verify(token).map(Some),
            None => Ok(None),
        }
    }

    /// The verified caller of a gRPC request; 401 without one.
    pub fn require_caller<T>(&self, request: &Request<T>) -> Result<Principal, ServiceError> {
        self.caller(request)?
            .ok_or_else(|| ServiceError::unauthenticated("sign in first: no access token"))
    }
}

/// The raw bearer token a gRPC request carries, to call another service as the same caller.
pub fn bearer_from_metadata<T>(request: &Request<T>) -> Result<Option<&str>, ServiceError> {
    let Some(value) = request.metadata().get("authorization") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ServiceError::unauthenticated("malformed authorization metadata"))?;
    value
        .strip_prefix("Bearer ")
        .map(Some)
        .ok_or_else(|| ServiceError::unauthenticated("authorization must be a Bearer token"))
}

/// Wraps a message in a gRPC request that carries `token` as the caller's identity.
pub fn authorized<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(value) = token.and_then(|t| MetadataValue::try_from(format!("Bearer {t}")).ok()) {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read(path)
        && existing.len() >= 32
    {
        return Ok(existing);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret: [u8; 48] = rand::random();
    let encoded = hex::encode(secret).into_bytes();
    write_private(path, &encoded).with_context(|| format!("writing {}", path.display()))?;
    Ok(encoded)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef", "tokshop", 900)
    }

    #[test]
    fn issued_tokens_verify() {
        let keys = keys();
        let token = keys.issue("usr_1", &[Role::Buyer, Role::Seller]).unwrap();
        let principal = keys.verify(&token.token).unwrap();
        assert_eq!(principal.user_id, "usr_1");
        assert!(principal.has(Role::Seller));
        assert!(principal.require(Role::Admin).is_err());
    }

    #[test]
    fn expired_and_tampered_tokens_fail() {
        let keys = keys();
        let expired = keys.issue_with_ttl("usr_1", &[Role::Buyer], -5).unwrap();
        assert!(
            matches!(keys.verify(&expired.token), Err(ServiceError::Unauthenticated(m)) if m.contains("expired"))
        );

        let token = keys.issue("usr_1", &[Role::Buyer]).unwrap().token;
        let mut tampered = token.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            keys.verify(std::str::from_utf8(&tampered).unwrap())
                .is_err()
        );

        let other = TokenKeys::new(b"another-secret-another-secret-xx", "tokshop", 900);
        let foreign = other.issue("usr_1", &[Role::Admin]).unwrap();
        assert!(keys.verify(&foreign.token).is_err());
    }

    #[test]
    fn metadata_round_trip() {
        let keys = keys();
        let token = keys.issue("usr_9", &[Role::Buyer]).unwrap().token;
        let request = authorized((), Some(&token));
        assert_eq!(keys.require_caller(&request).unwrap().user_id, "usr_9");
        assert!(keys.caller(&authorized((), None)).unwrap().is_none());
    }

    #[test]
    fn generated_secret_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.secret");
        let first = load_or_create_secret(&path).unwrap();
        let second = load_or_create_secret(&path).unwrap();
        assert_eq!(first, second);
        assert!(first.len() >= 32);
    }
}
