//! `issuer`: accredit an issuer DID for credential types, or withdraw its accreditation
//! (signed by a root authority).

use std::path::PathBuf;

use super::{Api, MakeBody};
use clap::Subcommand;
use did_method::Did;
use did_method::operation::OperationBody;

#[derive(Subcommand)]
pub(super) enum IssuerCmd {
    /// Accredit an issuer DID for credential types (signed by a root authority).
    Accredit {
        issuer: String,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        authority_key: PathBuf,
        /// Credential type (repeatable).
        #[arg(long = "type", required = true)]
        types: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Withdraw an issuer's accreditation.
    Withdraw {
        issuer: String,
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

pub(super) async fn run(cmd: IssuerCmd) -> anyhow::Result<()> {
    let (issuer, api, authority_key, json, body_of): (String, Api, PathBuf, bool, MakeBody) =
        match cmd {
            IssuerCmd::Accredit {
                issuer,
                api,
                authority_key,
                types,
                json,
            } => (
                issuer,
                api,
                authority_key,
                json,
                Box::new(move |d| OperationBody::AccreditIssuer {
                    issuer: d,
                    credential_types: types,
                    valid_until_ms: None,
                }),
            ),
            IssuerCmd::Withdraw {
                issuer,
                api,
                authority_key,
                reason,
                json,
            } => (
                issuer,
                api,
                authority_key,
                json,
                Box::new(move |d| OperationBody::WithdrawAccreditation { issuer: d, reason }),
            ),
        };
    let did = Did::parse(&issuer)?;
    let key = did_method::state::issuer_key(&did);
    super::authority_op(&api, &authority_key, &key, did, body_of, json, "issuer").await
}
