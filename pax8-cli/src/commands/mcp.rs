//! `pax8 mcp`: the agent tools over stdio or authenticated loopback HTTP.

use super::session::Session;
use crate::creds;
use crate::fail::Failure;

pub(super) async fn run(s: &Session, args: crate::McpArgs) -> Result<(), Failure> {
    let crate::McpArgs { allow_writes, policy, audit_log, http, serve, .. } = &args;
    let (allow_writes, http) = (*allow_writes, *http);
    let client = &s.client;
    let policy = match policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("cannot read the policy file {}: {e}", path.display())))?;
            Some(pax8_mcp::Pax8Tools::load_policy(&text).map_err(Failure::usage)?)
        }
        None => None,
    };
    let audit_log = match audit_log {
        Some(path) => path.clone(),
        None => creds::path()?.with_file_name("mcp-audit.jsonl"),
    };
    if let Some(dir) = audit_log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    let plans = match &args.db {
        Some(db) => Some(pax8_mcp::PlanStore {
            store: pax8_sync::Store::open(db).await.map_err(crate::fail::sync_failure)?,
            tenant: args.tenant.clone(),
        }),
        None => None,
    };
    let tools = pax8_mcp::Pax8Tools::new(
        client.clone(),
        pax8_mcp::Options { allow_writes, policy, audit_log: Some(audit_log.clone()), plans },
    )
    .map_err(|e| Failure::usage(format!("cannot open the audit log {}: {e}", audit_log.display())))?;
    let served = match http {
        Some(addr) => {
            let mut options = http_options(&args);
            let generated = options.token.is_none() && options.oauth.is_none();
            if generated {
                options.token = Some(pax8_mcp::random_token());
            }
            // Where it may listen is settled before anything (the token above all) is printed.
            options.check(addr).map_err(Failure::usage)?;
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Failure {
                message: format!("cannot serve on {addr}: {e}"),
                code: crate::fail::code::NETWORK,
            })?;
            let serving = super::serving::start(serve, super::serving::MCP_ADMIN_PORT, tools.readiness()).await?;
            (options.shutdown, options.grace) = (serving.shutdown.clone(), serving.grace);
            if let (true, Some(token)) = (generated, &options.token) {
                // Printed once, for the agent's configuration; never logged.
                eprintln!("bearer token (send `Authorization: Bearer <token>`): {}", token.expose());
            }
            if let Some(oauth) = &options.oauth {
                eprintln!("OAuth access tokens of {} accepted", oauth.issuer);
            }
            let bound = listener.local_addr().unwrap_or(addr);
            eprintln!("pax8 MCP server on http://{bound}/mcp (audit log {})", audit_log.display());
            let served = pax8_mcp::serve_http_with(tools, listener, options).await;
            serving.finish().await;
            served
        }
        None => pax8_mcp::serve_stdio(tools).await,
    };
    served.map_err(|e| Failure { message: format!("MCP server stopped: {e}"), code: crate::fail::code::NETWORK })?;

    Ok(())
}

/// The HTTP options the arguments ask for: PAX8_MCP_TOKEN if it is set, OAuth if an issuer is
/// given (either is then accepted), neither when both are missing (the caller generates a token).
fn http_options(args: &crate::McpArgs) -> pax8_mcp::HttpOptions {
    let token = match std::env::var("PAX8_MCP_TOKEN") {
        Ok(t) if !t.is_empty() => Some(pax8_ext::SecretString::new(t)),
        _ => None,
    };
    let oauth = args.oauth_issuer.as_ref().map(|issuer| pax8_mcp::OAuthConfig {
        audience: args.oauth_audience.clone(),
        jwks_url: args.oauth_jwks_url.clone(),
        read_scope: args.oauth_read_scope.clone(),
        write_scope: args.oauth_write_scope.clone(),
        ..pax8_mcp::OAuthConfig::new(issuer.clone())
    });
    pax8_mcp::HttpOptions { token, oauth, public_url: args.public_url.clone(), ..Default::default() }
}
