#!/usr/bin/env node
'use strict';
/*
 * Signs a message with the mailauth package, for the integration tests:
 * a message signed by an independent implementation must verify in mailport.
 *
 *   node mailauth_sign.js --domain D --selector S --key KEYFILE
 *        [--algorithm rsa-sha256|ed25519-sha256] [--canon relaxed/relaxed|simple/simple|...]
 *        [FILE|-]
 *
 * Writes the DKIM-Signature field(s) followed by the message to stdout.
 */
const fs = require('node:fs');
const { dkimSign } = require('mailauth/lib/dkim/sign');

function usage(msg) {
    process.stderr.write(`mailauth_sign: ${msg}\n` +
        'usage: mailauth_sign.js --domain D --selector S --key KEYFILE [--algorithm A] [--canon C] [FILE|-]\n');
    process.exit(64);
}

async function main() {
    const argv = process.argv.slice(2);
    const o = { algorithm: 'rsa-sha256', canon: 'relaxed/relaxed', file: '-' };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--domain') o.domain = val();
        else if (a === '--selector') o.selector = val();
        else if (a === '--key') o.key = val();
        else if (a === '--algorithm') o.algorithm = val();
        else if (a === '--canon') o.canon = val();
        else if (a.startsWith('--')) usage(`unknown option ${a}`);
        else o.file = a;
    }
    if (!o.domain || !o.selector || !o.key) usage('--domain, --selector and --key are required');
    const message = fs.readFileSync(o.file === '-' ? 0 : o.file);
    const res = await dkimSign(message, {
        canonicalization: o.canon,
        algorithm: o.algorithm,
        signatureData: [{ signingDomain: o.domain, selector: o.selector,
            privateKey: fs.readFileSync(o.key) }],
    });
    if (res.errors && res.errors.length) {
        process.stderr.write(`mailauth_sign: ${JSON.stringify(res.errors)}\n`);
        process.exit(65);
    }
    process.stdout.write(res.signatures);
    process.stdout.write(message);
}

main().catch(err => {
    process.stderr.write(`mailauth_sign: ${err.stack || err}\n`);
    process.exit(70);
});
