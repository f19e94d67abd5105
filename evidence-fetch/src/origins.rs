//! Whether an address is one an issuer serves, by its registry-proven DID document.

use did_method::DidDocument;

/// Is `url` at an origin (scheme, host and port) that one of `document`'s services names?
/// An issuer serves its status lists where it serves the rest (its OpenID4VCI service), so a
/// verifier fetching for strangers' presentations fetches nothing else.
pub fn origin_served_by(url: &str, document: &DidDocument) -> bool {
    let Ok(target) = url::Url::parse(url) else {
        return false;
    };
    let origin = target.origin();
    origin.is_tuple()
        && document.service.iter().any(|s| {
            url::Url::parse(&s.service_endpoint).is_ok_and(|endpoint| endpoint.origin() == origin)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use did_method::document::Service;
    use did_method::{ChainId, Did, SecretKey};

    #[test]
    fn only_the_origins_of_the_issuers_services_are_served_by_it() {
        let key = SecretKey::from_seed(&[1; 32]).public_key();
        let did = Did::derive(&ChainId::new("n").unwrap(), &key, &[2; 32]);
        let mut doc = DidDocument::with_single_key(&did, &key);
        doc.service.push(Service {
            id: format!("{did}#oid4vci"),
            type_: "OpenID4VCI".into(),
            service_endpoint: "https://issuer.agency.example".into(),
        });
        assert!(origin_served_by(
            "https://issuer.agency.example/status/1",
            &doc
        ));
        assert!(origin_served_by(
            "https://issuer.agency.example:443/status/1",
            &doc
        ));
        for elsewhere in [
            "https://issuer.agency.example:8443/status/1",
            "http://issuer.agency.example/status/1",
            "https://evil.example/status/1",
            "http://127.0.0.1:9000/admin",
            "not a url",
        ] {
            assert!(!origin_served_by(elsewhere, &doc), "{elsewhere}");
        }
    }
}
