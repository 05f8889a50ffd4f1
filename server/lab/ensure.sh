#!/usr/bin/env bash
# Installs whatever the lab is missing, then gets out of the way.
#   server/lab/ensure.sh lab    npm packages + redis-server + nginx + haproxy + postgresql + chromium
#                               (lesson 2's and 5's checks run the learner's Playwright tests;
#                               HAProxy and PostgreSQL run in the stages beyond nginx + one Redis)
#   server/lab/ensure.sh test   the same (the browser tests need chromium too)
# Everything already there? Then this costs a few stat calls, nothing more.
#
# It is shell, not TypeScript, on purpose: it runs before `npm ci`, when
# there is no tsx (or anything else) to run TypeScript with.
set -euo pipefail
cd "$(dirname "$0")/../.."
# (The argument is kept for the callers in package.json; both need the same today.)
want="${1:-lab}"
: "$want"

# ── npm packages: `npm ci` when the lock file differs from the one last installed ──
# By content, not date: a fresh checkout or a `git pull` that leaves the lock
# file as it was must not reinstall (a date check did, and a reinstall under a
# running lab pulls its packages away).
lock_sum="$(cksum < package-lock.json)"
if [ ! -f node_modules/.package-lock.json ] || [ "$(cat node_modules/.lab-installed-lock 2>/dev/null)" != "$lock_sum" ]; then
  echo "ensure: installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.lab-installed-lock
fi

# ── system programs ──────────────────────────────────────────────────────────
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ] || [ -x "/opt/homebrew/bin/$1" ]; }

missing_bins=()
have redis-server || missing_bins+=(redis-server)
have nginx || missing_bins+=(nginx)
have haproxy || missing_bins+=(haproxy)
# Debian keeps PostgreSQL's server programs in a versioned folder off PATH.
have_pg() { have initdb || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_pg || missing_bins+=(postgresql)
if [ -z "${CHROMIUM_PATH:-}" ] && ! have chromium && ! have chromium-browser; then
  missing_bins+=(chromium)
fi
[ ${#missing_bins[@]} -eq 0 ] && exit 0

# Debian/Ubuntu package names equal the program names here (postgresql is a package
# name already); Homebrew's differ a little.
if [ "$(uname)" = Darwin ]; then
  pkgs=()
  for b in "${missing_bins[@]}"; do
    case "$b" in redis-server) pkgs+=(redis) ;; chromium) pkgs+=(--cask chromium) ;; postgresql) pkgs+=(postgresql@16) ;; *) pkgs+=("$b") ;; esac
  done
  if command -v brew >/dev/null 2>&1; then
    echo "ensure: installing ${missing_bins[*]} with Homebrew…"
    brew install "${pkgs[@]}"
    exit 0
  fi
  echo "ensure: the lab needs ${missing_bins[*]}. Install Homebrew (https://brew.sh), then run: brew install ${pkgs[*]}" >&2
  exit 1
fi

cmd="apt-get install -y --no-install-recommends ${missing_bins[*]}"
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo_=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_="sudo"
  else
    echo "ensure: the lab needs ${missing_bins[*]}. Run this, then try again:" >&2
    echo "  sudo apt-get update && sudo $cmd" >&2
    exit 1
  fi
  echo "ensure: installing ${missing_bins[*]} with apt-get…"
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive $cmd -qq
  exit 0
fi

echo "ensure: the lab needs ${missing_bins[*]}, and this system has neither apt-get nor Homebrew." >&2
echo "  Install them with your package manager, then try again (\`npm run lab -- doctor\` checks)." >&2
exit 1
