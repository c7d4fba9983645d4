//! A minimal HTTP/1.1 client over a unix socket, used only for `unix:///path/to.sock` URLs:
//! one request per connection (`Connection: close`), `Content-Length` or chunked responses.

use crate::client::Response;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Sends one request on a fresh connection to `socket` and reads the whole response.
pub fn request(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    content_type: &str,
) -> io::Result<Response> {
    read_response(send(socket, method, path, body, content_type)?)
}

/// Sends a `GET` on a fresh connection and hands the response body to `sink` as it
/// arrives; returns the status (the body of a non-2xx answer is read whole instead).
pub fn stream(
    socket: &Path,
    path: &str,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<Response> {
    let mut r = send(socket, "GET", path, None, "")?;
    let (status, framing) = read_head(&mut r)?;
    if !(200..300).contains(&status) {
        let mut body = Vec::new();
        read_body(&mut r, framing, &mut |b| {
            body.extend_from_slice(b);
            Ok(())
        })?;
        return Ok(Response { status, body });
    }
    read_body(&mut r, framing, sink)?;
    Ok(Response {
        status,
        body: Vec::new(),
    })
}

/// Connects, sends the request, and returns the reader of the answer.
fn send(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    content_type: &str,
) -> io::Result<BufReader<UnixStream>> {
    let mut stream = UnixStream::connect(socket)?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: kapacitor\r\nAccept: */*\r\nConnection: close\r\n"
    );
    if let Some(b) = body {
        if !content_type.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some(b) = body {
        stream.write_all(b)?;
    }
    stream.flush()?;
    Ok(BufReader::new(stream))
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy)]
enum Framing {
    Chunked,
    Length(usize),
    ToEnd,
}

/// Parses a response: status line, headers, then the body.
pub fn read_response(mut r: impl BufRead) -> io::Result<Response> {
    let (status, framing) = read_head(&mut r)?;
    let mut body = Vec::new();
    read_body(&mut r, framing, &mut |b| {
        body.extend_from_slice(b);
        Ok(())
    })?;
    Ok(Response { status, body })
}

/// The status line and headers: the status and the body's framing.
fn read_head(r: &mut impl BufRead) -> io::Result<(u16, Framing)> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("malformed HTTP status line"))?;
    let mut content_length = None;
    let mut chunked = false;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in the response headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
    }
    let framing = match (chunked, content_length) {
        (true, _) => Framing::Chunked,
        (false, Some(n)) => Framing::Length(n),
        (false, None) if status == 204 || status == 304 => Framing::Length(0),
        (false, None) => Framing::ToEnd,
    };
    Ok((status, framing))
}

/// Reads a body, handing each piece to `sink` as it arrives.
fn read_body(
    r: &mut impl BufRead,
    framing: Framing,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = Vec::new();
    match framing {
        Framing::Chunked => {
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                let size_text = line.trim().split(';').next().unwrap_or("");
                let size =
                    usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
                if size == 0 {
                    return Ok(());
                }
                buf.resize(size, 0);
                r.read_exact(&mut buf)?;
                sink(&buf)?;
                line.clear();
                r.read_line(&mut line)?;
            }
        }
        Framing::Length(n) => {
            buf.resize(n, 0);
            r.read_exact(&mut buf)?;
            sink(&buf)
        }
        Framing::ToEnd => {
            r.read_to_end(&mut buf)?;
            sink(&buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_and_chunked_bodies() {
        let r = read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"[..]).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        let r = read_response(
            &b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"[..],
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"abcde"[..]));
        let r = read_response(&b"HTTP/1.1 204 No Content\r\n\r\n"[..]).unwrap();
        assert_eq!(r.status, 204);
        assert!(r.body.is_empty());
    }

    #[test]
    fn a_stream_hands_over_each_chunk_as_it_comes() {
        let dir = std::env::temp_dir().join(format!("kap-unix-stream-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let socket = dir.join("s.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut req = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while req.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            conn.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline1\n\r\n",
            )
            .unwrap();
            conn.flush().unwrap();
            // The second chunk only once the client has seen the first.
            go_rx.recv().unwrap();
            conn.write_all(b"6\r\nline2\n\r\n0\r\n\r\n").unwrap();
        });
        let mut pieces = Vec::new();
        let r = stream(&socket, "/logs", &mut |b| {
            pieces.push(String::from_utf8_lossy(b).into_owned());
            let _ = go_tx.send(());
            Ok(())
        })
        .unwrap();
        server.join().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(pieces, ["line1\n", "line2\n"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
