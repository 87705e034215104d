//! The `web` service: nginx with halab's own configuration, so that the server logs every
//! request with a millisecond timestamp (`$msec`): the request-rate timeline and the longest
//! window without a served request that load traffic reports come from that log. Sized so the
//! server is never the bottleneck of `ab` at its highest concurrency (ab allows 20000).

/// Where every request is logged: `$msec $status $remote_addr $request_time`.
pub const ACCESS_LOG: &str = "/var/log/halab/web-access.log";

const CONF: &str = "user www-data;
worker_processes auto;
worker_rlimit_nofile 20000;
pid /run/halab/nginx.pid;
error_log /var/log/halab/web-error.log;
events { worker_connections 16384; }
http {
  include /etc/nginx/mime.types;
  log_format halab '$msec $status $remote_addr $request_time';
  access_log @LOG@ halab;
  server {
    listen 80 default_server;
    root /var/www/html;
    index index.html index.nginx-debian.html;
  }
}
";

/// The command line: write the configuration, then run nginx in the foreground with it.
pub fn argv() -> Vec<String> {
    let script = format!("mkdir -p /etc/halab /run/halab /var/log/halab && cat > /etc/halab/nginx.conf <<'EOF'\n{}EOF\nexec /usr/sbin/nginx -c /etc/halab/nginx.conf -g 'daemon off;'", CONF.replace("@LOG@", ACCESS_LOG));
    vec!["/bin/sh".into(), "-c".into(), script]
}
