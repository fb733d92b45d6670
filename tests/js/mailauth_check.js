#!/usr/bin/env node
'use strict';
/*
 * The mailauth package's verdict on one message, as JSON, for the
 * integration tests to hold mailport's `auth check` against an independent
 * implementation.
 *
 *   node mailauth_check.js --ip IP [--helo NAME] [--sender ADDR] [--mta NAME]
 *        --dns HOST:PORT [--no-message] [FILE|-]
 *
 * Every DNS query goes to the test's DNS server (--dns), never the system's.
 * Prints {"spf": {...}, "dkim": [...], "dmarc": {...}, "header": "..."} with
 * RFC 8601 result words; "dmarc" is null when mailauth made no DMARC check
 * (no single From: address).
 */
const fs = require('node:fs');
const { Resolver } = require('node:dns').promises;
const { authenticate } = require('mailauth');
const { spf } = require('mailauth/lib/spf');

function usage(msg) {
    process.stderr.write(`mailauth_check: ${msg}\n` +
        'usage: mailauth_check.js --ip IP [--helo NAME] [--sender ADDR] [--mta NAME] --dns HOST:PORT [--no-message] [FILE|-]\n');
    process.exit(64);
}

function parseArgs(argv) {
    const o = { sender: undefined, file: '-', message: true };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--ip') o.ip = val();
        else if (a === '--helo') o.helo = val();
        else if (a === '--sender') o.sender = val();
        else if (a === '--mta') o.mta = val();
        else if (a === '--dns') o.dns = val();
        else if (a === '--no-message') o.message = false;
        else if (a.startsWith('--')) usage(`unknown option ${a}`);
        else o.file = a;
    }
    if (!o.ip) usage('--ip is required');
    if (!o.dns) usage('--dns HOST:PORT is required (the tests never use the system resolver)');
    return o;
}

function readInput(file) {
    return fs.readFileSync(file === '-' ? 0 : file);
}

/* A resolver bound to one server, with the signature mailauth expects
 * (dns.promises.resolve's: name, rrtype -> records). One try and a short
 * timeout, so that a zone whose server fails gives an error quickly. */
function makeResolver(server) {
    const r = new Resolver({ timeout: 2000, tries: 1 });
    r.setServers([server]);
    return (name, rrtype) => r.resolve(name, rrtype);
}

function summarize(res) {
    const out = { spf: null, dkim: [], dmarc: null, header: res.headers };
    if (res.spf) {
        const s = res.spf;
        out.spf = {
            result: s.status.result,
            domain: s.domain,
            comment: s.status.comment || '',
            explanation: s.status.explanation || '',
            lookups: s.lookups ? s.lookups.count : null,
            void_lookups: s.lookups ? s.lookups.void : null,
        };
    }
    for (const d of (res.dkim && res.dkim.results) || []) {
        // mailauth reports an unsigned message as one "none" row without a
        // domain; an unsigned message has no signatures to list.
        if (!d.signingDomain && d.status.result === 'none') continue;
        out.dkim.push({
            domain: d.signingDomain || '',
            selector: d.selector || '',
            algorithm: d.algo || '',
            canonicalization: d.format || '',
            result: d.status.result,
            comment: d.status.comment || '',
            aligned: d.status.aligned || false,
        });
    }
    if (res.dmarc) {
        const m = res.dmarc;
        out.dmarc = {
            result: m.status.result,
            policy: m.policy || null,
            p: m.p || null,
            sp: m.sp || null,
            pct: m.pct === undefined ? null : m.pct,
            from_domain: (m.status.header && m.status.header.d) || m.domain || '',
            org_domain: m.domain || '',
            alignment: m.alignment || null,
        };
    }
    return out;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const resolver = makeResolver(o.dns);
    const opts = { ip: o.ip, helo: o.helo, sender: o.sender, mta: o.mta || 'mx.test', resolver,
        disableArc: true, disableBimi: true };
    let res;
    if (o.message) {
        res = await authenticate(readInput(o.file), opts);
    } else {
        res = { spf: await spf(opts), dkim: { results: [] }, dmarc: false, headers: '' };
    }
    process.stdout.write(JSON.stringify(summarize(res), null, 1) + '\n');
}

main().catch(err => {
    process.stderr.write(`mailauth_check: ${err.stack || err}\n`);
    process.exit(70);
});
