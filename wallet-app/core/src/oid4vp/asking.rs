//! Whether a business asks for more than the registry allows it to: the holder's side of
//! relying-party registration (`verifier/<did>`, did:alliance §5.4.10). Pure: the caller
//! proves the registration and says what a presentation would share.

use did_method::state::{ALL_CLAIMS, RelyingPartyAccreditation};
use serde::Serialize;

/// What one presentation would share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sharing {
    /// The credential's types as issuers are accredited for them: an SD-JWT VC's `vct`; a
    /// Data Integrity credential's types (`VerifiableCredential` may be among them).
    pub credential_types: Vec<String>,
    pub shares: Shares,
}

/// The claims a presentation discloses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shares {
    /// These claims (a claim path's names joined by `.`); none: only what the format always
    /// shows.
    Claims(Vec<String>),
    /// The whole credential (a format without selective disclosure).
    Whole,
}

/// One way a request goes beyond the business's registration, for the holder to weigh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Overreach {
    /// The registry holds no registration of this business as a relying party.
    NotRegistered,
    /// An authority withdrew its registration.
    Withdrawn { authority: String, reason: String },
    /// Its registration is not in force now (expired, or not yet begun).
    OutOfTerm,
    /// It is not registered to ask for this type of credential at all.
    TypeNotCovered { credential_type: String },
    /// It is registered for this type, but not for these claims of it.
    ClaimsNotCovered {
        credential_type: String,
        claims: Vec<String>,
    },
    /// The whole credential would be sent, and it is registered only for these claims of it.
    Whole {
        credential_type: String,
        allowed: Vec<String>,
    },
}

impl std::fmt::Display for Overreach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotRegistered => f.write_str(
                "this business is not registered with the Alliance registry as allowed to ask for credentials",
            ),
            Self::Withdrawn { authority, reason } => write!(
                f,
                "{authority} withdrew this business's registration to ask for credentials ({reason})"
            ),
            Self::OutOfTerm => {
                f.write_str("this business's registration to ask for credentials is not in force")
            }
            Self::TypeNotCovered { credential_type } => write!(
                f,
                "this business is not registered to ask for your {credential_type}"
            ),
            Self::ClaimsNotCovered {
                credential_type,
                claims,
            } => write!(
                f,
                "this business is not registered to ask for {} of your {credential_type}",
                claims.join(", ")
            ),
            Self::Whole {
                credential_type,
                allowed,
            } => write!(
                f,
                "your whole {credential_type} would be shared, but this business is registered to ask only for {}",
                allowed.join(", ")
            ),
        }
    }
}

/// What in `sharing` the registration `registration` (as proven; `None`: proven absent) does
/// not allow at `at_ms`. Empty: the business asks for nothing beyond its registration.
pub fn overreach(
    registration: Option<&RelyingPartyAccreditation>,
    at_ms: u64,
    sharing: &[Sharing],
) -> Vec<Overreach> {
    let Some(reg) = registration else {
        return vec![Overreach::NotRegistered];
    };
    if let Some(w) = &reg.withdrawal {
        return vec![Overreach::Withdrawn {
            authority: w.authority.clone(),
            reason: w.reason.clone(),
        }];
    }
    if !reg.in_force(at_ms) {
        return vec![Overreach::OutOfTerm];
    }
    let mut found = Vec::new();
    for s in sharing {
        let mut named = s
            .credential_types
            .iter()
            .filter(|t| t.as_str() != "VerifiableCredential");
        let Some(scope) = s.credential_types.iter().find_map(|t| reg.scope(t)) else {
            let shown = named
                .next_back()
                .or(s.credential_types.first())
                .cloned()
                .unwrap_or_else(|| "credential".to_owned());
            found.push(Overreach::TypeNotCovered {
                credential_type: shown,
            });
            continue;
        };
        let credential_type = scope.credential_type.clone();
        match &s.shares {
            Shares::Whole if !scope.covers_all() => found.push(Overreach::Whole {
                credential_type,
                allowed: scope
                    .claims
                    .iter()
                    .filter(|c| c.as_str() != ALL_CLAIMS)
                    .cloned()
                    .collect(),
            }),
            Shares::Whole => {}
            Shares::Claims(claims) => {
                let beyond: Vec<String> = claims
                    .iter()
                    .filter(|c| !scope.covers_claim(c))
                    .cloned()
                    .collect();
                if !beyond.is_empty() {
                    found.push(Overreach::ClaimsNotCovered {
                        credential_type,
                        claims: beyond,
                    });
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use did_method::state::{RelyingPartyScope, Withdrawal};
    use did_method::{ChainId, Did, SecretKey};

    fn registration(scopes: &[(&str, &[&str])]) -> RelyingPartyAccreditation {
        let key = SecretKey::from_seed(&[4; 32]).public_key();
        let chain = ChainId::new("alliance-devnet").unwrap();
        RelyingPartyAccreditation {
            relying_party: Did::derive(&chain, &key, &[1; 32]),
            scopes: scopes
                .iter()
                .map(|(t, c)| RelyingPartyScope {
                    credential_type: t.to_string(),
                    claims: c.iter().map(|c| c.to_string()).collect(),
                })
                .collect(),
            authority: "Ministry of Transport".into(),
            authority_key: key,
            accredited_height: 7,
            valid_from_ms: 1_000,
            valid_until_ms: Some(5_000),
            withdrawal: None,
            sequence: 0,
        }
    }

    fn claims(types: &[&str], names: &[&str]) -> Sharing {
        Sharing {
            credential_types: types.iter().map(|t| t.to_string()).collect(),
            shares: Shares::Claims(names.iter().map(|n| n.to_string()).collect()),
        }
    }

    #[test]
    fn a_request_within_the_registration_raises_nothing() {
        let reg = registration(&[("DriverLicense", &["birthdate", "address"])]);
        let asked = [claims(
            &["DriverLicense"],
            &["birthdate", "address.locality"],
        )];
        assert_eq!(overreach(Some(&reg), 2_000, &asked), vec![]);
        let whole = Sharing {
            credential_types: vec!["VerifiableCredential".into(), "LibraryCard".into()],
            shares: Shares::Whole,
        };
        let reg = registration(&[("LibraryCard", &["*"])]);
        assert_eq!(overreach(Some(&reg), 2_000, &[whole]), vec![]);
    }

    #[test]
    fn each_claim_or_type_beyond_the_registration_is_named() {
        let reg = registration(&[("DriverLicense", &["birthdate"])]);
        let asked = [
            claims(&["DriverLicense"], &["birthdate", "family_name", "address"]),
            claims(&["VerifiableCredential", "LibraryCard"], &["member"]),
        ];
        let found = overreach(Some(&reg), 2_000, &asked);
        assert_eq!(
            found,
            vec![
                Overreach::ClaimsNotCovered {
                    credential_type: "DriverLicense".into(),
                    claims: vec!["family_name".into(), "address".into()],
                },
                Overreach::TypeNotCovered {
                    credential_type: "LibraryCard".into()
                },
            ]
        );
        assert_eq!(
            found[0].to_string(),
            "this business is not registered to ask for family_name, address of your DriverLicense"
        );
        let whole = Sharing {
            credential_types: vec!["DriverLicense".into()],
            shares: Shares::Whole,
        };
        assert_eq!(
            overreach(Some(&reg), 2_000, &[whole]),
            vec![Overreach::Whole {
                credential_type: "DriverLicense".into(),
                allowed: vec!["birthdate".into()],
            }]
        );
    }

    #[test]
    fn no_registration_a_withdrawn_one_or_one_out_of_term_is_said_first_and_alone() {
        let asked = [claims(&["DriverLicense"], &["birthdate"])];
        assert_eq!(
            overreach(None, 2_000, &asked),
            vec![Overreach::NotRegistered]
        );
        let mut reg = registration(&[("DriverLicense", &["*"])]);
        assert_eq!(
            overreach(Some(&reg), 5_000, &asked),
            vec![Overreach::OutOfTerm]
        );
        assert_eq!(
            overreach(Some(&reg), 999, &asked),
            vec![Overreach::OutOfTerm]
        );
        reg.withdrawal = Some(Withdrawal {
            authority: "Ministry of Transport".into(),
            authority_key: reg.authority_key,
            height: 9,
            time_ms: 1_500,
            reason: "complaints".into(),
        });
        let found = overreach(Some(&reg), 2_000, &asked);
        assert!(
            matches!(&found[..], [Overreach::Withdrawn { reason, .. }] if reason == "complaints")
        );
    }
}
