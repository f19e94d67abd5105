//! `relying-party`: register a business as a relying party, for the claims of credential types
//! it may ask holders for, or withdraw its registration (signed by a root authority).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use did_method::Did;
use did_method::operation::OperationBody;
use did_method::state::RelyingPartyScope;

use super::{Api, MakeBody};

#[derive(Subcommand)]
pub(super) enum RelyingPartyCmd {
    /// Register a business's DID as a relying party (signed by a root authority); replaces an
    /// earlier registration.
    Accredit {
        relying_party: String,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        authority_key: PathBuf,
        /// What it may ask for of one credential type: `TYPE=CLAIM,CLAIM…` (a claim path's
        /// names joined by '.', or `*` for the whole credential); repeatable.
        #[arg(long = "scope", required = true, value_name = "TYPE=CLAIMS")]
        scopes: Vec<String>,
        /// End of the registration, as milliseconds since the Unix epoch.
        #[arg(long)]
        valid_until_ms: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Withdraw a relying party's registration.
    Withdraw {
        relying_party: String,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        authority_key: PathBuf,
        #[arg(long, default_value = "withdrawn by the authority")]
        reason: String,
        #[arg(long)]
        json: bool,
    },
}

/// `TYPE=CLAIM,CLAIM…` (the type may itself hold `=`-free URLs; the last `=` splits).
fn parse_scope(text: &str) -> anyhow::Result<RelyingPartyScope> {
    let (credential_type, claims) = text
        .rsplit_once('=')
        .with_context(|| format!("--scope {text:?}: expected TYPE=CLAIM,CLAIM… (or TYPE=*)"))?;
    let claims: Vec<String> = claims
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if credential_type.is_empty() || claims.is_empty() {
        anyhow::bail!("--scope {text:?}: name a credential type and at least one claim");
    }
    Ok(RelyingPartyScope {
        credential_type: credential_type.to_owned(),
        claims,
    })
}

pub(super) async fn run(cmd: RelyingPartyCmd) -> anyhow::Result<()> {
    let (relying_party, api, authority_key, json, body_of): (String, Api, PathBuf, bool, MakeBody) =
        match cmd {
            RelyingPartyCmd::Accredit {
                relying_party,
                api,
                authority_key,
                scopes,
                valid_until_ms,
                json,
            } => {
                let scopes = scopes
                    .iter()
                    .map(|s| parse_scope(s))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                (
                    relying_party,
                    api,
                    authority_key,
                    json,
                    Box::new(move |d| OperationBody::AccreditRelyingParty {
                        relying_party: d,
                        scopes,
                        valid_until_ms,
                    }),
                )
            }
            RelyingPartyCmd::Withdraw {
                relying_party,
                api,
                authority_key,
                reason,
                json,
            } => (
                relying_party,
                api,
                authority_key,
                json,
                Box::new(move |d| OperationBody::WithdrawRelyingParty {
                    relying_party: d,
                    reason,
                }),
            ),
        };
    let did = Did::parse(&relying_party)?;
    let key = did_method::state::relying_party_key(&did);
    super::authority_op(
        &api,
        &authority_key,
        &key,
        did,
        body_of,
        json,
        "relyingParty",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_is_a_type_and_its_claims() {
        let s = parse_scope("DriverLicense=birthdate, address.locality").unwrap();
        assert_eq!(s.credential_type, "DriverLicense");
        assert_eq!(s.claims, ["birthdate", "address.locality"]);
        let s = parse_scope("https://alliance.example/vct/CitizenId=*").unwrap();
        assert_eq!(s.credential_type, "https://alliance.example/vct/CitizenId");
        assert_eq!(s.claims, ["*"]);
        for bad in [
            "DriverLicense",
            "=birthdate",
            "DriverLicense=",
            "DriverLicense= , ",
        ] {
            assert!(parse_scope(bad).is_err(), "{bad}");
        }
    }
}
