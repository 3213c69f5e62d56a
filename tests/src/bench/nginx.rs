//! The proxy yardstick: nginx (Debian `nginx-light`) with one worker, `proxy_pass` to the mock
//! over an upstream `keepalive` pool, `proxy_buffering off` so SSE chunks go out as they come.
//! Pinned to the gateway's core, it shows what any HTTP proxy reaches on this machine.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A running nginx; killed when dropped.
pub struct Nginx {
    pub addr: SocketAddr,
    pub pid: u32,
    _child: Child,
}

/// Whether `nginx` is on PATH (or in /usr/sbin).
pub fn binary() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([std::path::PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

fn config(dir: &Path, port: u16, mock: SocketAddr) -> String {
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log error;\n\
         events {{ worker_connections 8192; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           keepalive_requests 1000000;\n\
           upstream mock {{ server {mock}; keepalive 512; keepalive_requests 1000000; }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    tcp_nodelay on;\n    location / {{\n\
               proxy_pass http://mock;\n      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n\
               proxy_buffering off;\n    }}\n  }}\n}}\n"
    )
}

impl Nginx {
    /// Starts nginx in `dir` on `port`, pinned to `cpu`, in front of `mock`.
    pub async fn start(dir: &Path, port: u16, mock: SocketAddr, cpu: Option<usize>) -> Result<Nginx, String> {
        let nginx = binary().ok_or("nginx is not installed (apt-get install nginx-light)")?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(dir, port, mock)).map_err(|e| e.to_string())?;
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(&nginx);
                c
            }
            None => Command::new(&nginx),
        };
        command
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| format!("cannot start nginx: {e}"))?;
        let pid = child.id().ok_or("nginx exited at once")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(Nginx { addr, pid, _child: child });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(format!("nginx did not listen on {addr}; see {}", dir.join("error.log").display()))
    }
}
