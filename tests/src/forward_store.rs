//! [`forward_key_store!`]: the `KeyStore` methods a wrapping test store leaves alone,
//! each a call of the same method on the store it wraps.

/// Inside an `impl KeyStore for ...` block, writes each named method as a call of the
/// same method on the field `$inner`: `forward_key_store!(inner: create_by, audit);`.
/// Any method the trait requires can be named; the others are written out by hand.
#[macro_export]
macro_rules! forward_key_store {
    ($inner:ident: $($method:ident),+ $(,)?) => {
        $($crate::forward_key_store!(@one $inner $method);)+
    };
    (@one $inner:ident create_by) => {
        async fn create_by(
            &self,
            by: &::keygate::keys::Actor,
            spec: ::keygate::keys::NewKey,
        ) -> ::core::result::Result<::keygate::keys::IssuedKey, ::keygate::keys::StoreError> {
            ::keygate::keys::KeyStore::create_by(&self.$inner, by, spec).await
        }
    };
    (@one $inner:ident change_key) => {
        async fn change_key(
            &self,
            by: &::keygate::keys::Actor,
            id: &str,
            change: ::keygate::keys::KeyChange,
        ) -> ::core::result::Result<::keygate::keys::KeyChanged, ::keygate::keys::StoreError> {
            ::keygate::keys::KeyStore::change_key(&self.$inner, by, id, change).await
        }
    };
    (@one $inner:ident change_owner) => {
        async fn change_owner(
            &self,
            by: &::keygate::keys::Actor,
            id: &str,
            change: ::keygate::keys::OwnerChange,
        ) -> ::core::result::Result<::keygate::keys::OwnerChanged, ::keygate::keys::StoreError>
        {
            ::keygate::keys::KeyStore::change_owner(&self.$inner, by, id, change).await
        }
    };
    (@one $inner:ident get) => {
        async fn get(
            &self,
            id: &str,
        ) -> ::core::result::Result<
            ::core::option::Option<::std::sync::Arc<::keygate::keys::KeyRecord>>,
            ::keygate::keys::StoreError,
        > {
            ::keygate::keys::KeyStore::get(&self.$inner, id).await
        }
    };
    (@one $inner:ident list) => {
        async fn list(
            &self,
            query: ::keygate::keys::KeyQuery,
        ) -> ::core::result::Result<::keygate::keys::KeyPage, ::keygate::keys::StoreError> {
            ::keygate::keys::KeyStore::list(&self.$inner, query).await
        }
    };
    (@one $inner:ident get_owner) => {
        async fn get_owner(
            &self,
            id: &str,
        ) -> ::core::result::Result<
            ::core::option::Option<::keygate::keys::Owner>,
            ::keygate::keys::StoreError,
        > {
            ::keygate::keys::KeyStore::get_owner(&self.$inner, id).await
        }
    };
    (@one $inner:ident owner_summary) => {
        async fn owner_summary(
            &self,
            id: &str,
        ) -> ::core::result::Result<
            ::core::option::Option<::keygate::keys::OwnerSummary>,
            ::keygate::keys::StoreError,
        > {
            ::keygate::keys::KeyStore::owner_summary(&self.$inner, id).await
        }
    };
    (@one $inner:ident list_owners) => {
        async fn list_owners(
            &self,
            query: ::keygate::keys::OwnerQuery,
        ) -> ::core::result::Result<::keygate::keys::OwnerPage, ::keygate::keys::StoreError> {
            ::keygate::keys::KeyStore::list_owners(&self.$inner, query).await
        }
    };
    (@one $inner:ident audit) => {
        async fn audit(
            &self,
            query: ::keygate::keys::AuditQuery,
        ) -> ::core::result::Result<::keygate::keys::AuditPage, ::keygate::keys::StoreError> {
            ::keygate::keys::KeyStore::audit(&self.$inner, query).await
        }
    };
    (@one $inner:ident record_use) => {
        async fn record_use(
            &self,
            id: &str,
            at: ::keygate::keys::UnixSeconds,
        ) -> ::core::result::Result<(), ::keygate::keys::StoreError> {
            ::keygate::keys::KeyStore::record_use(&self.$inner, id, at).await
        }
    };
    (@one $inner:ident create_session) => {
        async fn create_session(
            &self,
            session: ::keygate::keys::ConsoleSession,
        ) -> ::core::result::Result<(), ::keygate::keys::StoreError> {
            ::keygate::keys::KeyStore::create_session(&self.$inner, session).await
        }
    };
    (@one $inner:ident get_session) => {
        async fn get_session(
            &self,
            id_sha256: &[u8; 32],
            now: ::keygate::keys::UnixSeconds,
        ) -> ::core::result::Result<
            ::core::option::Option<::keygate::keys::ConsoleSession>,
            ::keygate::keys::StoreError,
        > {
            ::keygate::keys::KeyStore::get_session(&self.$inner, id_sha256, now).await
        }
    };
    (@one $inner:ident delete_session) => {
        async fn delete_session(
            &self,
            id_sha256: &[u8; 32],
        ) -> ::core::result::Result<(), ::keygate::keys::StoreError> {
            ::keygate::keys::KeyStore::delete_session(&self.$inner, id_sha256).await
        }
    };
}
