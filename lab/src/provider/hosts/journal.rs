//! What a lab changed on a host, kept on the host (`/var/lib/halab-hosts/journal/LAB.sh`):
//! before each change its undo is appended, so `down` (or the next lease holder, after an
//! expiry) runs the undos newest first and the host is as it was, even when the controller
//! that made the changes is gone. Replaced files are kept in `backup/LAB/`.

use anyhow::{bail, Result};

use crate::transport::Target;

pub const DIR: &str = "/var/lib/halab-hosts";

/// Undo lines may call `svc_stop NAME`.
const PRELUDE: &str = crate::transport::shell::SVC_STOP;

fn paths(lab: &str) -> (String, String) {
    (format!("{DIR}/journal/{lab}.sh"), format!("{DIR}/backup/{lab}"))
}

fn run(t: &Target, script: &str, args: &[&str]) -> Result<String> {
    let mut argv = vec!["sh", "-c", script, "journal"];
    argv.extend_from_slice(args);
    let o = crate::transport::exec(t, &argv, None, crate::cmd::limit::BULK)?;
    if !o.status.success() {
        bail!("on {}: {}", t.addr, String::from_utf8_lossy(&o.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Append `undo`, then run `change`; `change` failing is an error (its undo is harmless).
pub fn change(t: &Target, lab: &str, change: &str, undo: &str) -> Result<()> {
    let (j, _) = paths(lab);
    let script = "j=$1; mkdir -p \"$(dirname \"$j\")\"; printf '%s\\n' \"$3\" >> \"$j\"; sync \"$j\"; sh -c \"$2\"";
    run(t, script, &[&j, change, undo]).map(|_| ())
}

/// Before halab writes `path`: keep the host's own file (once), or note that it was new (and
/// the directories made for it).
pub fn before_write(t: &Target, lab: &str, path: &str) -> Result<()> {
    let (j, b) = paths(lab);
    let script = r##"j=$1 b=$2 p=$3; mkdir -p "$(dirname "$j")" "$b"
grep -qxF "# file $p" "$j" 2>/dev/null && exit 0
d=$(dirname "$p") missing=
while [ ! -e "$d" ]; do missing="$d $missing"; d=$(dirname "$d"); done
for m in $missing; do printf 'rmdir %s 2>/dev/null || true\n' "'$m'" >> "$j"; done
if [ -e "$p" ]; then mkdir -p "$b$(dirname "$p")"; cp -a "$p" "$b$p"
  printf '# file %s\ncp -a %s %s\n' "$p" "'$b$p'" "'$p'" >> "$j"
else printf '# file %s\nrm -f %s\n' "$p" "'$p'" >> "$j"; fi; sync "$j""##;
    run(t, script, &[&j, &b, path]).map(|_| ())
}

/// Directories halab's node side writes into (configs, logs, pidfiles): removed at the end
/// when the lab made them; when the host had one already (a VM's identity is in
/// /etc/halab), only what the lab added to it goes.
pub fn own_dirs(t: &Target, lab: &str, dirs: &[&str]) -> Result<()> {
    let (j, _) = paths(lab);
    let script = r##"j=$1; shift; mkdir -p "$(dirname "$j")"
for d; do
  grep -q "^# dir $d\$" "$j" 2>/dev/null && continue
  echo "# dir $d" >> "$j"
  if [ -e "$d" ]; then
    keep=$(ls -A "$d" | tr '\n' ' ')
    echo "cd $d && for f in * .[!.]*; do [ -e \"\$f\" ] || continue; case ' $keep' in *\" \$f \"*) ;; *) rm -rf \"\$f\";; esac; done" >> "$j"
  else echo "rm -rf $d" >> "$j"; fi
done; sync "$j""##;
    let mut args = vec![j.as_str()];
    args.extend_from_slice(dirs);
    run(t, script, &args).map(|_| ())
}

/// Before halab starts service `name`: its stop, once.
pub fn before_service(t: &Target, lab: &str, name: &str) -> Result<()> {
    let (j, _) = paths(lab);
    let script = "j=$1; mkdir -p \"$(dirname \"$j\")\"; grep -qxF \"svc_stop $2\" \"$j\" 2>/dev/null || printf 'svc_stop %s\\n' \"$2\" >> \"$j\"; sync \"$j\"";
    run(t, script, &[&j, name]).map(|_| ())
}

/// Undo everything `lab` changed, newest first; the journal and backups go last. Returns how
/// many undo lines ran, and the ones that failed.
pub fn undo(t: &Target, lab: &str) -> Result<(usize, Vec<String>)> {
    let (j, b) = paths(lab);
    let text = run(t, "cat \"$1\" 2>/dev/null || true", &[&j])?;
    // A power cut right after an append can leave a tail of NUL bytes (ext4 allocates the
    // block before the data lands): such a line is dropped, never run.
    let lines: Vec<&str> = text.lines().rev().filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !l.contains('\0')).collect();
    let mut script = String::from(PRELUDE);
    for (i, l) in lines.iter().enumerate() {
        script.push_str(&format!("( {l} ) >/dev/null 2>&1 || echo \"failed {i}\"\n"));
    }
    script.push_str(&format!("rm -rf \"$1\" \"$2\"; rmdir {DIR}/journal {DIR}/backup 2>/dev/null; true\n"));
    let out = run(t, &script, &[&j, &b])?;
    let failed = out.lines().filter_map(|l| l.strip_prefix("failed ")?.parse::<usize>().ok()).filter_map(|i| lines.get(i).map(|l| l.to_string())).collect();
    Ok((lines.len(), failed))
}

/// Labs with a journal on the host (what an expired or crashed lab left).
pub fn labs(t: &Target) -> Result<Vec<String>> {
    let out = run(t, &format!("ls {DIR}/journal 2>/dev/null | sed -n 's/\\.sh$//p'"), &[])?;
    Ok(out.lines().map(String::from).collect())
}
