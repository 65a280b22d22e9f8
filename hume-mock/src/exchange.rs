//! A tiny blocking WebSocket client for tests of the replay endpoints (legacy stream, EVI):
//! send requests, collect the server's text messages.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// What one exchange saw.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    /// Every text message received, in order.
    pub received: Vec<String>,
    /// The close code, if the server closed.
    pub close_code: Option<u16>,
}

/// Connect to `base_url` + `path` (with the key as `X-Hume-Api-Key`), read `first` messages
/// (e.g. EVI's `chat_metadata`), then for each request send it and read `replies[i]`
/// messages. Finally wait up to `linger` for anything else (an inactivity close).
pub fn exchange(
    base_url: &str,
    path: &str,
    api_key: &str,
    first: usize,
    requests: &[(String, usize)],
    linger: Duration,
) -> std::io::Result<Exchange> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let url = format!("{}{path}", base_url.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().map_err(std::io::Error::other)?;
        request.headers_mut().insert("X-Hume-Api-Key", api_key.parse().map_err(std::io::Error::other)?);
        let host = base_url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let tcp = tokio::net::TcpStream::connect(host).await?;
        let (mut ws, _) =
            tokio_tungstenite::client_async(request, tcp).await.map_err(std::io::Error::other)?;
        let mut out = Exchange::default();
        async fn take<S>(
            ws: &mut tokio_tungstenite::WebSocketStream<S>,
            out: &mut Exchange,
            n: usize,
            wait: Duration,
        ) where
            S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
        {
            let mut got = 0;
            while got < n {
                match tokio::time::timeout(wait, ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        out.received.push(t.as_str().to_owned());
                        got += 1;
                    }
                    Ok(Some(Ok(Message::Close(f)))) => {
                        out.close_code = Some(f.map_or(1005, |f| u16::from(f.code)));
                        return;
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => return,
                }
            }
        }
        let wait = Duration::from_secs(10);
        take(&mut ws, &mut out, first, wait).await;
        for (req, n) in requests {
            ws.send(Message::text(req.clone())).await.map_err(std::io::Error::other)?;
            take(&mut ws, &mut out, *n, wait).await;
        }
        if !linger.is_zero() {
            take(&mut ws, &mut out, usize::MAX, linger).await;
        }
        Ok(out)
    })
}
