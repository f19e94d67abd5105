//! The issuer's `did:alliance` DID as `init` registers it: one key for authentication,
//! assertion and registry updates, and an `OpenID4VCI` service whose endpoint is the issuer's
//! web address (its OpenID4VCI credential issuer identifier).
//!
//! The service is the registry-proven half of the binding between that address and the DID.
//! The other half is the issuer's signed metadata, whose `kid` is a method of the DID. A
//! wallet that proves the document and checks both knows that the agency that controls the
//! DID also serves from that address. Key rotation keeps the service
//! ([`crate::rotation`] changes only keys and relationships).

use did_method::document::Service;
use did_method::operation::{Operation, OperationBody};
use did_method::{ChainId, Did, DidDocument, Hash, PublicKey};

/// The `type` of the service that names the issuer's OpenID4VCI address.
pub const OID4VCI_SERVICE_TYPE: &str = "OpenID4VCI";
/// Its fragment: the service's id is `<did>#oid4vci`.
pub const OID4VCI_SERVICE_FRAGMENT: &str = "oid4vci";

/// The service naming `issuer_url` (the credential issuer identifier, exactly as the
/// metadata's `credential_issuer` gives it) as the address of `did`.
pub fn oid4vci_service(did: &Did, issuer_url: &str) -> Service {
    Service {
        id: did.url(OID4VCI_SERVICE_FRAGMENT),
        type_: OID4VCI_SERVICE_TYPE.into(),
        service_endpoint: issuer_url.to_owned(),
    }
}

/// The creation of the issuer's DID on chain `chain_id`: controlled by `key`, recoverable by
/// the key whose commitment is `recovery_commitment`, its document listing `issuer_url`.
/// Returns the DID and the operation, to be signed by `key` and a registrar.
pub fn create(
    chain_id: &ChainId,
    key: &PublicKey,
    recovery_commitment: Hash,
    issuer_url: &str,
) -> (Did, Operation) {
    let did = Did::derive(chain_id, key, &recovery_commitment.0);
    let mut document = DidDocument::with_single_key(&did, key);
    document.service.push(oid4vci_service(&did, issuer_url));
    let op = Operation {
        chain_id: chain_id.clone(),
        sequence: 0,
        body: OperationBody::CreateDid {
            did: did.clone(),
            document,
            initial_key: *key,
            recovery_commitment,
        },
    };
    (did, op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use did_method::SecretKey;
    use did_method::state::recovery_commitment;

    #[test]
    fn the_created_document_names_the_issuer_url_as_its_openid4vci_service() {
        let chain = ChainId::new("alliance-test").unwrap();
        let key = SecretKey::from_seed(&[1; 32]).public_key();
        let recovery = recovery_commitment(&SecretKey::from_seed(&[2; 32]).public_key());
        let url = "https://issuer.agency.example";
        let (did, op) = create(&chain, &key, recovery, url);
        // The DID is the one the same key and recovery commitment give without a service.
        let (plain_did, _) = Operation::create_single_key(&chain, &key, recovery);
        assert_eq!(did, plain_did);
        let OperationBody::CreateDid { document, .. } = &op.body else {
            panic!("not a creation: {op:?}");
        };
        document.validate(&did).unwrap();
        assert_eq!(
            document.service,
            vec![Service {
                id: format!("{did}#oid4vci"),
                type_: "OpenID4VCI".into(),
                service_endpoint: url.into(),
            }]
        );
        assert_eq!(
            serde_json::to_value(&document.service[0]).unwrap(),
            serde_json::json!({"id": format!("{did}#oid4vci"), "type": "OpenID4VCI", "serviceEndpoint": url})
        );
    }
}
