//! TLS for outgoing HTTPS (mounting `https://` servers): rustls with the `ring` provider,
//! which builds without a C toolchain beyond what `ring` needs.

use std::sync::Once;

/// Makes `ring` the process's rustls provider, once. HTTP clients (reqwest) refuse to build
/// without one, so this runs before this crate builds any client; call it yourself before
/// building reqwest clients of your own (e.g. rmcp's streamable HTTP client) in a program
/// that uses this crate. A provider installed earlier by someone else is kept.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn https_clients_build_once_the_provider_is_installed() {
        super::install_crypto_provider();
        let client = reqwest::Client::builder().https_only(true).build();
        assert!(client.is_ok(), "{client:?}");
    }
}
