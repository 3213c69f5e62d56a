//! A tiny forward proxy on 127.0.0.1 for the outbound-proxy tests, speaking HTTP and SOCKS5 on
//! one port: plain-HTTP requests in absolute form (`GET http://host:port/path`) are forwarded,
//! `CONNECT host:port` is tunnelled, and a SOCKS5 CONNECT (RFC 1928, with RFC 1929
//! user/password when offered) is tunnelled too. Every request is recorded with its
//! credentials, so a test proves that traffic went through it. Forwarded HTTP requests ask the
//! upstream to close the connection, so each client request arrives here on its own.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the proxy handled.
#[derive(Debug, Clone)]
pub struct ProxiedRequest {
    pub method: String,
    /// `http://host:port/path` or, for CONNECT and SOCKS5, `host:port`.
    pub target: String,
    /// HTTP: the `Proxy-Authorization` header; SOCKS5: `user:password`.
    pub proxy_authorization: Option<String>,
}

/// A running proxy; it serves until the test process ends.
pub struct ForwardProxy {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<ProxiedRequest>>>,
}

impl ForwardProxy {
    /// Starts on an ephemeral port, on its own thread and runtime.
    pub fn start() -> ForwardProxy {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(serve(client, log.clone()));
                }
            });
        });
        ForwardProxy { addr, seen }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request handled so far.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Reads up to the end of the request head; returns it and any bytes after it.
async fn read_head(client: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
}

async fn serve(mut client: TcpStream, seen: Arc<Mutex<Vec<ProxiedRequest>>>) {
    let mut first = [0u8; 1];
    if client.peek(&mut first).await.is_ok() && first[0] == 5 {
        return socks5(client, seen).await;
    }
    let Some((head, rest)) = read_head(&mut client).await else { return };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split(' ');
    let (method, target, version) =
        (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or("HTTP/1.1"));
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let header = |name: &str| {
        headers.iter().find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    seen.lock().expect("lock").push(ProxiedRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        proxy_authorization: header("proxy-authorization"),
    });
    if method == "CONNECT" {
        let Ok(mut upstream) = TcpStream::connect(target).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
            return;
        };
        if client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await.is_err() {
            return;
        }
        let _ = upstream.write_all(&rest).await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return;
    }
    let Some(after_scheme) = target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
        return;
    };
    let (authority, path) = match after_scheme.find('/') {
        Some(i) => (&after_scheme[..i], &after_scheme[i..]),
        None => (after_scheme, "/"),
    };
    let Ok(mut upstream) = TcpStream::connect(authority).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
        return;
    };
    let mut forwarded = format!("{method} {path} {version}\r\n");
    for h in &headers {
        let name = h.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !matches!(name.as_str(), "proxy-authorization" | "proxy-connection" | "connection") {
            forwarded.push_str(h);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("connection: close\r\n\r\n");
    if upstream.write_all(forwarded.as_bytes()).await.is_err() || upstream.write_all(&rest).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// SOCKS5: greeting, optional user/password, CONNECT, then a tunnel.
async fn socks5(mut client: TcpStream, seen: Arc<Mutex<Vec<ProxiedRequest>>>) {
    async fn bytes(client: &mut TcpStream, n: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; n];
        client.read_exact(&mut buf).await.ok()?;
        Some(buf)
    }
    let Some(greeting) = bytes(&mut client, 2).await else { return };
    let Some(methods) = bytes(&mut client, usize::from(greeting[1])).await else { return };
    let mut credentials = None;
    if methods.contains(&2) {
        if client.write_all(&[5, 2]).await.is_err() {
            return;
        }
        let Some(head) = bytes(&mut client, 2).await else { return };
        let Some(user) = bytes(&mut client, usize::from(head[1])).await else { return };
        let Some(len) = bytes(&mut client, 1).await else { return };
        let Some(password) = bytes(&mut client, usize::from(len[0])).await else { return };
        credentials = Some(format!("{}:{}", String::from_utf8_lossy(&user), String::from_utf8_lossy(&password)));
        if client.write_all(&[1, 0]).await.is_err() {
            return;
        }
    } else if client.write_all(&[5, 0]).await.is_err() {
        return;
    }
    let Some(request) = bytes(&mut client, 4).await else { return };
    let host = match request[3] {
        1 => bytes(&mut client, 4).await.map(|a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])),
        3 => match bytes(&mut client, 1).await {
            Some(len) => {
                bytes(&mut client, usize::from(len[0])).await.map(|n| String::from_utf8_lossy(&n).into_owned())
            }
            None => None,
        },
        4 => bytes(&mut client, 16).await.map(|a| {
            let octets: [u8; 16] = a.try_into().unwrap_or([0; 16]);
            format!("[{}]", std::net::Ipv6Addr::from(octets))
        }),
        _ => None,
    };
    let (Some(host), Some(port)) = (host, bytes(&mut client, 2).await) else { return };
    let target = format!("{host}:{}", u16::from_be_bytes([port[0], port[1]]));
    seen.lock().expect("lock").push(ProxiedRequest {
        method: "SOCKS5".into(),
        target: target.clone(),
        proxy_authorization: credentials,
    });
    let Ok(mut upstream) = TcpStream::connect(&target).await else {
        let _ = client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await;
        return;
    };
    if client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
