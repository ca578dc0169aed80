#!/usr/bin/env bash
# Regenerates the reports of testdata/fleet with fwaudit report --offline
# from the inputs in inputs/ and testdata/report (run it as root from
# anywhere: the nft text inputs are read by loading them into a throwaway
# network namespace). broken/ is written by hand and kept.
set -eu
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)/fwaudit
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/fwaudit
in=testdata/fleet/inputs
rep=testdata/report
out=testdata/fleet
mkdir -p "$out/week1" "$out/week2"

report() { # FILE TIME HOSTNAME ARGS...
	local file=$1 at=$2 host=$3
	shift 3
	"$bin" report --offline --hostname "$host" --time "$at" --tool-version 1.0.0-test -o json "$@" >"$file"
}

w1=2026-11-14T06:00:00Z
w2=2026-11-21T06:00:00Z
# no firewall at all, PostgreSQL on 0.0.0.0
report "$out/week1/fresh.json" $w1 fresh --sockets $rep/fresh-postgres/ss.txt --rules $rep/fresh-postgres/rules.v4 --rules6 $rep/fresh-postgres/rules.v6
report "$out/week2/fresh.json" $w2 fresh --sockets $rep/fresh-postgres/ss.txt --rules $rep/fresh-postgres/rules.v4 --rules6 $rep/fresh-postgres/rules.v6
# default drop with stale rules; in week 2 a rule is inserted near the
# top, the pop3 accept is deleted and nginx no longer runs
report "$out/week1/mail.json" $w1 mail --sockets $in/mail.ss.txt --rules $in/mail.rules.v4 --rules6 $in/v6-default-drop.rules
report "$out/week2/mail.json" $w2 mail --sockets $in/mail-week2.ss.txt --rules $in/mail-week2.rules.v4 --rules6 $in/v6-default-drop.rules
# native nftables; in week 2 a drop of 203.0.113.0/24 is inserted above
# the others (the findings' rules move; ssh, http and https no longer
# admit that range)
report "$out/week1/web.json" $w1 web --sockets $in/web.ss.txt --nft $in/web.nft
report "$out/week2/web.json" $w2 web --sockets $in/web.ss.txt --nft $in/web-week2.nft
# new in week 2: process names and rule comments carrying HTML
report "$out/week2/hostile.json" $w2 hostile --sockets $in/hostile.ss.txt --rules $in/hostile.rules.v4 --rules6 $in/v6-default-drop.rules
# an audit without IPv6 rules: incomplete (checks skipped for lack of input)
mkdir -p "$out/incomplete"
report "$out/incomplete/server2.json" $w2 server2 --sockets $rep/ufw-server2/ss.txt --rules $rep/ufw-server2/rules.v4
