//! `memorable serve`: the HTTP API (`/v1`, OpenAPI at `/v1/openapi.json`), MCP's
//! streamable HTTP transport at `/mcp`, the web inspector at `/`, health and metrics; API keys
//! with per-user scopes, rate limits, bounded in-flight work, settings that reload without a
//! restart, and a graceful shutdown. A binding of the core: no logic the core does not have.

mod api;
mod auth;
mod error;
mod extract;
mod http_metrics;
mod inspect;
mod inspector;
mod mcp;
mod openapi;
mod routes;
mod settings;
mod state;

use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clap::{Args, Subcommand};
use memorable::{ErrorCode, Memorable};
use tokio::sync::{Notify, Semaphore};

use crate::global::Global;
use auth::{Key, RateLimiter};
use error::ApiError;
use extract::BodyLimit;
pub(crate) use settings::SettingsFile;
use state::{AppState, Live};

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (loopback by default; beyond it, put TLS in front: docs/server.md).
    #[arg(long, default_value = "127.0.0.1:8420", env = "MEMORABLE_LISTEN")]
    pub listen: String,
    /// Settings file (TOML): keys, limits, log level, ranking weights. Reloaded on SIGHUP and
    /// when the file changes; an invalid file is refused and the old settings stay.
    #[arg(long, env = "MEMORABLE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Seconds that requests in flight get to finish after SIGTERM.
    #[arg(long, default_value_t = 30)]
    pub shutdown_timeout: u64,
}

#[derive(Args)]
pub(crate) struct McpArgs {
    /// The user whose memories the tools read and write.
    #[arg(long)]
    pub user: String,
}

/// `memorable mcp`: the MCP tools on stdin / stdout for one user (logs go to stderr).
pub(crate) fn mcp_stdio(g: &Global, args: &McpArgs) -> Result<()> {
    use rmcp::ServiceExt as _;
    anyhow::ensure!(!args.user.trim().is_empty(), "--user must not be blank");
    let mem = Arc::new(open_store(g)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let running =
            mcp::Tools::for_user(mem.clone(), args.user.clone()).serve(rmcp::transport::stdio()).await?;
        running.waiting().await?;
        anyhow::Ok(())
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    mem.close()?;
    result
}

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Read an API key on stdin and print the lowercase hex SHA-256 the settings file wants.
    Hash,
}

pub(crate) fn keys(command: &KeysCommand) -> Result<()> {
    match command {
        KeysCommand::Hash => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let key = line.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!key.is_empty(), "no key on stdin");
            println!("{}", auth::digest_hex(key));
            Ok(())
        }
    }
}

/// The store as a server opens it: background jobs on, emotion contexts per user.
pub(crate) fn open_store(g: &Global) -> Result<Memorable> {
    let mut config = g.config();
    config.classifiers.run_jobs = true;
    config.emotion.per_user_sessions = true;
    config.log_content = crate::util::LOG_CONTENT.load(std::sync::atomic::Ordering::Relaxed);
    Memorable::builder(&g.store)
        .config(config)
        .open()
        .with_context(|| format!("cannot open store {}", crate::util::store_name(&g.store)))
}

pub(crate) fn serve(g: &Global, args: &ServeArgs) -> Result<()> {
    // Stamped before reading, so an edit made while the store opens is seen by the watcher.
    let stamp_at_load = args.config.as_deref().and_then(stamp);
    let settings = match &args.config {
        Some(path) => SettingsFile::load(path)?,
        None => SettingsFile::default(),
    };
    apply_log_level(&settings);
    let mem = Arc::new(open_store(g)?);
    if let Some(alerts) = &settings.alerts {
        mem.set_alert_rules(alerts.rules.clone()).context("alerts.rules")?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(run(mem.clone(), settings, args, stamp_at_load));
    // Requests cut at the deadline may still hold the store on the blocking pool.
    runtime.shutdown_timeout(Duration::from_secs(5));
    mem.close()?;
    tracing::info!("stopped");
    result
}

async fn run(
    mem: Arc<Memorable>,
    settings: SettingsFile,
    args: &ServeArgs,
    seen: Option<(SystemTime, u64)>,
) -> Result<()> {
    // SIGHUP's default action ends the process without a checkpoint: always handle it.
    let hup =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).context("SIGHUP handler")?;
    if settings.server.keys.is_empty() {
        tracing::warn!("no API keys configured: every /v1 call answers 401 (see `memorable keys hash`)");
    }
    let in_flight = Arc::new(Semaphore::new(settings.server.max_in_flight));
    let state = Arc::new(AppState {
        mem,
        live: RwLock::new(Arc::new(Live { settings: SettingsFile::default(), keys: vec![] })),
        limiter: RateLimiter::default(),
        http: Default::default(),
        core_slots: Arc::new(Semaphore::new(settings.server.max_in_flight)),
        in_flight,
    });
    state.install(settings);
    let cancel = tokio_util::sync::CancellationToken::new();
    let app = router(state.clone(), cancel.clone());
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening beyond loopback: put TLS in front (docs/server.md)");
    }
    tokio::spawn(watch_settings(state.clone(), args.config.clone(), hup, seen));
    // Scripts wait for this line to know the port (`--listen 127.0.0.1:0` picks a free one).
    println!("listening on http://{addr}");
    tracing::info!(%addr, "listening");

    let stopping = Arc::new(Notify::new());
    let server = axum::serve(listener, app).with_graceful_shutdown({
        let stopping = stopping.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("stopping: finishing requests in flight");
            // Open MCP streams end now; requests in flight run to their end.
            cancel.cancel();
            stopping.notify_one();
        }
    });
    let deadline = Duration::from_secs(args.shutdown_timeout);
    tokio::select! {
        r = server => r.context("server failed")?,
        _ = async { stopping.notified().await; tokio::time::sleep(deadline).await } => {
            tracing::warn!(?deadline, "requests still in flight at the shutdown deadline were cut");
        }
    }
    Ok(())
}

fn router(state: Arc<AppState>, cancel: tokio_util::sync::CancellationToken) -> Router {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
    let tools_state = state.clone();
    let max_body = state.live().settings.server.max_body_bytes;
    let mcp = StreamableHttpService::new(
        move || Ok(mcp::Tools::over_http(tools_state.clone())),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_cancellation_token(cancel)
            .with_max_request_body_bytes(max_body),
    );
    let v1 = Router::new()
        .nest_service("/mcp", mcp)
        .route("/v1/memories", post(routes::remember))
        .route("/v1/memories:batch", post(routes::remember_batch))
        .route("/v1/recall", post(routes::recall))
        .route(
            "/v1/memories/{id}",
            get(routes::get_memory).patch(routes::patch_memory).delete(routes::delete_memory),
        )
        .route("/v1/memories/{id}/history", get(routes::memory_history))
        .route("/v1/memories/{id}/derived", get(inspect::derived))
        .route("/v1/users", get(inspect::users))
        .route("/v1/users/{user}/recent", get(routes::recent))
        .route("/v1/users/{user}/frame", get(inspect::frame))
        .route("/v1/contexts", get(inspect::contexts))
        .route("/v1/contexts/{context}/timeline.svg", get(inspect::timeline))
        .route("/v1/alerts", get(inspect::alerts))
        .route("/v1/users/{user}", axum::routing::delete(routes::forget_user))
        .route("/v1/contexts/{context}/readings", post(routes::observe))
        .route("/v1/contexts/{context}/state", get(routes::context_state))
        .route("/v1/contexts/{context}/history", get(routes::context_history))
        .route("/v1/contexts/{context}/hume", post(routes::ingest_hume))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard));
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/", get(inspector::index))
        .route("/inspector/app.js", get(inspector::script))
        .route("/inspector/app.css", get(inspector::style))
        .route("/inspector/icon.svg", get(inspector::icon))
        .merge(v1)
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            let body = ApiError::invalid("method not allowed on this route").body();
            (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
        })
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.clone(), access_log))
        .with_state(state)
}

/// Every `/v1` call: a known key, a token from its bucket, a place among the requests in
/// flight, and the timeout.
async fn guard(State(s): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let live = s.live();
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110); the key is not.
        .and_then(|v| v.get(..7).filter(|s| s.eq_ignore_ascii_case("bearer ")).map(|_| &v[7..]))
        .map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return ApiError::new(ErrorCode::Unauthorized, "missing `Authorization: Bearer <key>`")
            .into_response();
    };
    let Some(key) = auth::find(&live.keys, token) else {
        return ApiError::new(ErrorCode::Unauthorized, "unknown API key").into_response();
    };
    let key = Arc::new(key.clone());
    if let Err(wait) = s.limiter.take(&key) {
        let mut e =
            ApiError::new(ErrorCode::RateLimited, format!("rate limit of key {:?} reached", key.name));
        e.retry_after = Some(wait);
        return with_key(e.into_response(), &key);
    }
    let server = &live.settings.server;
    let permit = match tokio::time::timeout(
        Duration::from_millis(server.queue_timeout_ms),
        s.in_flight.clone().acquire_owned(),
    )
    .await
    {
        Ok(Ok(permit)) => permit,
        _ => {
            let mut e = ApiError::new(ErrorCode::Overloaded, "too many requests in flight; retry");
            e.retry_after = Some(Duration::from_secs(1));
            return with_key(e.into_response(), &key);
        }
    };
    req.extensions_mut().insert(BodyLimit(server.max_body_bytes));
    req.extensions_mut().insert(key.clone());
    let timeout = Duration::from_millis(server.request_timeout_ms);
    let response = match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            ApiError::new(ErrorCode::Timeout, format!("the request took over {} ms", timeout.as_millis()))
                .into_response()
        }
    };
    drop(permit);
    with_key(response, &key)
}

/// The key's name, for the access log (set on the response by `guard`).
#[derive(Clone)]
struct AccessKey(String);

fn with_key(mut response: Response, key: &Key) -> Response {
    response.extensions_mut().insert(AccessKey(key.name.clone()));
    response
}

/// One structured record per request: method, route template (never the path itself, which
/// may carry user ids), status, key name, milliseconds. No bodies, no keys.
async fn access_log(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let key = response.extensions().get::<AccessKey>().map_or("-", |k| k.0.as_str());
    let seconds = started.elapsed().as_secs_f64();
    s.http.record(key, method.as_str(), &route, response.status().as_u16(), seconds);
    tracing::info!(
        target: "memorable::access",
        %method,
        route,
        status = response.status().as_u16(),
        key,
        ms = seconds * 1e3,
        "request"
    );
    response
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Reloads the settings on SIGHUP and when the file changes (its length or modification
/// time, checked every second).
async fn watch_settings(
    state: Arc<AppState>,
    path: Option<PathBuf>,
    mut hup: tokio::signal::unix::Signal,
    mut seen: Option<(SystemTime, u64)>,
) {
    let Some(path) = path else {
        while hup.recv().await.is_some() {
            tracing::warn!("SIGHUP: no settings file to reload (--config)");
        }
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let why = tokio::select! {
            _ = hup.recv() => "SIGHUP",
            _ = tick.tick() => {
                let now = stamp(&path);
                if now == seen { continue; }
                "the file changed"
            }
        };
        seen = stamp(&path);
        reload(&state, &path, why);
    }
}

fn stamp(path: &FsPath) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn reload(state: &AppState, path: &FsPath, why: &str) {
    let new = match SettingsFile::load(path) {
        Ok(s) => s,
        Err(e) => return tracing::error!(why, "settings refused, the old ones stay: {e:#}"),
    };
    // Alert rules are the one part the store validates: applied first, so an invalid rule
    // refuses the whole file.
    if let Some(alerts) = &new.alerts {
        if let Err(e) = state.mem.set_alert_rules(alerts.rules.clone()) {
            return tracing::error!(why, "settings refused, the old ones stay: alerts.rules: {e}");
        }
    }
    let old = state.live();
    for setting in old.settings.restart_needed(&new) {
        tracing::warn!(setting, "changed in the settings file; applies after a restart");
    }
    apply_log_level(&new);
    let keys = new.server.keys.len();
    state.install(new);
    tracing::info!(why, keys, "settings reloaded");
}

fn apply_log_level(settings: &SettingsFile) {
    if let (Some(level), Some(set)) = (&settings.server.log_level, crate::util::SET_LOG_FILTER.get()) {
        // rmcp logs whole requests and results (memory texts) at debug: kept at info unless
        // content logging is on.
        let level = if crate::util::LOG_CONTENT.load(std::sync::atomic::Ordering::Relaxed) {
            level.clone()
        } else {
            format!("{level},rmcp=info")
        };
        if let Err(e) = set(&level) {
            tracing::error!("server.log_level: {e:#}");
        }
    }
}
