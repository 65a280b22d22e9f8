//! The HTTP/1.1 side of the mock: reading a request head (the WebSocket upgrade and the
//! upload endpoints share one port, as on `api.cloud.hume.ai`), bodies, multipart parts,
//! and writing JSON responses.

use std::collections::HashMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest request head the mock reads.
const MAX_HEAD: usize = 64 * 1024;

/// A parsed request head plus the body bytes already read past it.
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    pub leftover: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn is_upgrade(&self) -> bool {
        self.header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    }
}

/// Read one request head; `None` when the peer closed or sent garbage.
pub async fn read_head(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let target = req.path?.to_owned();
                let (path, query) = match target.split_once('?') {
                    Some((p, q)) => (p.to_owned(), parse_query(q)),
                    None => (target, HashMap::new()),
                };
                let headers = req
                    .headers
                    .iter()
                    .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect();
                return Some(Request {
                    method: req.method?.to_owned(),
                    path,
                    query,
                    headers,
                    leftover: buf[len..].to_vec(),
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            _ => return None,
        }
    }
}

fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Read the rest of a `Content-Length` body.
pub async fn read_body(stream: &mut TcpStream, req: &mut Request, len: usize) -> std::io::Result<Vec<u8>> {
    let mut body = std::mem::take(&mut req.leftover);
    if body.len() < len {
        let start = body.len();
        body.resize(len, 0);
        stream.read_exact(&mut body[start..]).await?;
    }
    body.truncate(len);
    Ok(body)
}

/// Write a complete response and leave the connection to be closed.
pub async fn respond(
    stream: &mut TcpStream,
    status: u16,
    extra_headers: &[(&str, String)],
    body: &serde_json::Value,
) -> std::io::Result<()> {
    let body = body.to_string();
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        reason(status),
        body.len()
    );
    for (k, v) in extra_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// One part of a multipart/form-data body.
pub struct Part {
    pub name: String,
    pub data: Vec<u8>,
}

/// Split a multipart/form-data body; `None` when it is malformed.
pub fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary =
        content_type.split(';').map(str::trim).find_map(|p| p.strip_prefix("boundary="))?.trim_matches('"');
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, &delim, 0)? + delim.len();
    loop {
        if body[pos..].starts_with(b"--") {
            return Some(parts);
        }
        pos += crlf(&body[pos..])?;
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = std::str::from_utf8(&body[pos..head_end]).ok()?;
        let data_start = head_end + 4;
        let next = find(body, &delim, data_start)?;
        // The part's data ends with the CRLF before the next delimiter.
        let data_end = next.checked_sub(2).filter(|&e| e >= data_start && &body[e..next] == b"\r\n")?;
        // Media types are sniffed from the bytes, as the server does; only the name matters.
        let mut name = None;
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':')?;
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = v
                    .split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("name="))
                    .map(|n| n.trim_matches('"').to_owned());
            }
        }
        parts.push(Part { name: name?, data: body[data_start..data_end].to_vec() });
        pos = next + delim.len();
    }
}

fn crlf(b: &[u8]) -> Option<usize> {
    b.starts_with(b"\r\n").then_some(2)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--\r\n--XyZ\r\nContent-Disposition: form-data; name=\"config\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--XyZ--\r\n";
        let parts = multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), &parts[0].data[..]), ("file", &b"RIFF\r\n--"[..]));
        assert_eq!((parts[1].name.as_str(), &parts[1].data[..]), ("config", &b"{}"[..]));
        assert!(multipart("multipart/form-data; boundary=XyZ", b"garbage").is_none());
    }
}
