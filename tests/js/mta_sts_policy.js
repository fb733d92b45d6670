#!/usr/bin/env node
'use strict';
/*
 * The mailauth package's reading of an MTA-STS policy file, as JSON, for the
 * integration tests to hold `mailport mta-sts policy`'s output against an
 * independent parser.
 *
 *   node mta_sts_policy.js [MX_HOST]... < mta-sts.txt
 *
 * Prints {"policy": {...}} (mailauth's parsePolicy: version, mode, maxAge, mx)
 * with "mx_valid": {MX_HOST: true|false} from its validateMx, or
 * {"error": "...", "code": "..."} when it refuses the file (exit 1).
 */
const fs = require('node:fs');
const { parsePolicy, validateMx } = require('mailauth/lib/mta-sts');

const text = fs.readFileSync(0);
let policy;
try {
    policy = parsePolicy(text);
} catch (err) {
    process.stdout.write(JSON.stringify({ error: err.message, code: err.code }) + '\n');
    process.exit(1);
}
const valid = {};
for (const mx of process.argv.slice(2)) {
    valid[mx] = validateMx(mx, policy).valid;
}
process.stdout.write(JSON.stringify({ policy, mx_valid: valid }) + '\n');
