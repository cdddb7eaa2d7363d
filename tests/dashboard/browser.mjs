// SPDX-License-Identifier: ISC
//
// browser.mjs: rvctl dashboard in headless Chromium, as an operator uses
// it.  Started by tests/integration/dashboard_browser.sh, which prepares a
// store with run A (the conflicting sample plus a tier 3 source whose
// claims are HTML) gated and run B (the sample again) queued behind it,
// starts rvsup and the dashboard, and passes in the environment:
//   DASH_LOGIN   the login URL the dashboard printed
//   RUN_A RUN_B  the run ids
//   EVIDENCE_A   run A's evidence file (what the diff must show)
//   ART          where screenshots go
//   RVCTL        the rvctl binary (rvctl abort from "another terminal")
//   CHROMIUM     the browser binary
//   RV_TEST_PATIENCE  how much longer than a quiet machine real work
//                may take (tests/integration/lib.sh)
// Prints "ok ..." / "FAIL ..." lines; exits 1 when anything failed.

import { chromium } from 'playwright-core';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const env = process.env;
const base = new URL(env.DASH_LOGIN).origin;
const patience = Number(env.RV_TEST_PATIENCE || 5);
const HOSTILE = '<img src=x onerror=alert(1)>';
let fails = 0;

function ok(m) { console.log('ok   ' + m); }
function fail(m) { console.log('FAIL ' + m); fails++; }
function check(cond, m, detail) {
	if (cond)
		ok(m);
	else
		fail(detail === undefined ? m : m + ': ' + detail);
}

// Every dialog (alert, confirm, ...) any page opens: there must be none.
const dialogs = [];
function watch(page) {
	page.on('dialog', (d) => {
		dialogs.push(d.message());
		d.dismiss().catch(() => {});
	});
}

// No horizontal scroll at phone width, then a full-page screenshot.
async function shot(page, name, width, height) {
	await page.setViewportSize({ width, height });
	const sw = await page.evaluate(() =>
	    document.documentElement.scrollWidth);
	if (width < 500)
		check(sw <= width, `${name} at ${width}x${height}: no ` +
		    'horizontal scroll', `scrollWidth ${sw}`);
	await page.screenshot({ path: `${env.ART}/${name}-${width}x${height}.png`,
	    fullPage: true });
}

async function shots(page, name) {
	await shot(page, name, 1280, 800);
	await shot(page, name, 390, 844);
	await page.setViewportSize({ width: 1280, height: 800 });
}

async function status(page) {
	return (await page.textContent('#run-status')).trim();
}

// Wait until run <id>'s page says <want>, reloading (real work: the
// pipeline's own pace).
async function waitStatus(page, id, want, seconds) {
	const end = Date.now() + seconds * 1000;
	let s = '';
	while (Date.now() < end) {
		await page.goto(`${base}/runs/${id}`);
		s = await status(page);
		if (s === want)
			return s;
		await page.waitForTimeout(500);
	}
	return s;
}

// What a source column of the diff shows for one claim.
async function diffRow(page, claim) {
	return page.evaluate((c) => {
		const t = document.getElementById('evidence-diff');
		const heads = [...t.querySelectorAll('thead th')].slice(1);
		const row = t.querySelector(`tr[data-claim="${c}"]`);
		if (row === null)
			return null;
		const cells = [...row.querySelectorAll('td')];
		return {
			conflict: row.classList.contains('conflict'),
			cells: cells.map((td, i) => ({
				src: heads[i].querySelector('.src').textContent,
				low: heads[i].classList.contains('low-tier'),
				raw: td.querySelector('.raw').textContent,
				norm: td.querySelector('.norm').textContent,
			})),
		};
	}, claim);
}

const browser = await chromium.launch({
	executablePath: env.CHROMIUM || '/usr/lib/chromium/chromium',
	args: process.getuid() === 0 ? ['--no-sandbox'] : [],
});
try {
	const ctx = await browser.newContext({ viewport: { width: 1280,
	    height: 800 } });
	const page = await ctx.newPage();
	watch(page);

	// Log in
	let resp = await page.goto(`${base}/`);
	check(resp.status() === 401, 'without a session: 401',
	    String(resp.status()));
	resp = await page.goto(env.DASH_LOGIN);
	const cookies = await ctx.cookies(base);
	check(resp.ok() && new URL(page.url()).pathname === '/' &&
	    cookies.length === 1 && cookies[0].httpOnly &&
	    cookies[0].sameSite === 'Strict',
	    'login by the printed URL: back to /, HttpOnly SameSite=Strict ' +
	    'session cookie', `${resp.status()} ${page.url()} ` +
	    JSON.stringify(cookies));
	check(await page.locator('#supervisor').count() === 1 &&
	    await page.locator(`#waiting a[href="/runs/${env.RUN_A}"]`)
	    .count() >= 1 && await page.locator('#incidents').count() === 1 &&
	    await page.locator('#recent').count() === 1,
	    'overview: supervisor card, run A waiting for the operator, ' +
	    'incidents, recent runs');
	await shots(page, 'overview');

	// Run A: the diff of the conflicting sample
	await page.goto(`${base}/runs/${env.RUN_A}`);
	check(await status(page) === 'waiting_approval',
	    'run A page: waiting_approval', await status(page));
	const ev = JSON.parse(readFileSync(env.EVIDENCE_A, 'utf8'));
	const volt = await diffRow(page, 'voltage');
	const trusted = (ev.sources || []).filter((s) => s.tier >= 4 &&
	    s.claims && s.claims.voltage);
	const want = trusted.map((s) => ({ src: s.url || s.path,
	    raw: s.claims.voltage, norm: s.normalized.voltage }));
	const shown = volt === null ? [] : want.map((w) =>
	    volt.cells.find((c) => c.src === w.src && c.raw === w.raw &&
	    c.norm === w.norm));
	check(want.length === 2 && want[0].norm !== want[1].norm &&
	    shown.every((c) => c !== undefined && !c.low),
	    'voltage: both trusted sources, raw and normalised, as in the ' +
	    'evidence file', JSON.stringify({ want, volt }));
	check(volt !== null && volt.conflict && await page.locator(
	    'tr[data-claim="voltage"].conflict').textContent().then((t) =>
	    /critical conflict/.test(t)),
	    'the voltage row is marked as a critical conflict');
	const rows = await page.$$eval('#evidence-diff tr[data-claim]',
	    (rs) => rs.map((r) => [r.dataset.claim,
	    r.classList.contains('conflict')]));
	check(rows.filter((r) => r[1]).every((r) => r[0] === 'voltage'),
	    'no other row marked (the prices agree)', JSON.stringify(rows));
	const order = await page.evaluate(() => {
		const d = document.getElementById('evidence-diff');
		const a = document.querySelector(
		    '#decide button[name="action"][value="approve"]');
		return a !== null && (d.compareDocumentPosition(a) &
		    Node.DOCUMENT_POSITION_FOLLOWING) !== 0;
	});
	check(order, 'the Approve button comes after the diff');
	check(await page.locator('#decide input[type="hidden"][name="nonce"]')
	    .getAttribute('value').then((v) => /^[0-9a-f-]{36}$/.test(v)) &&
	    await page.locator('#decide input[type="hidden"][name="csrf"]')
	    .count() === 1, 'the decision form carries the gate nonce and ' +
	    'the CSRF token');

	// Hostile claims are text
	const hostile = await diffRow(page, 'model_id');
	const cell = hostile && hostile.cells.find((c) => c.raw === HOSTILE);
	check(cell !== undefined && cell.low,
	    'the tier 3 page\'s model id shows as the text ' + HOSTILE +
	    ', greyed', JSON.stringify(hostile));
	await page.waitForTimeout(300);
	check(await page.locator('img').count() === 0 && dialogs.length === 0,
	    'run page: no img element, no dialog', `${dialogs}`);
	await shots(page, 'run');
	await page.goto(`${base}/runs/${env.RUN_A}/evidence`);
	const text = await page.textContent('main');
	await page.waitForTimeout(300);
	check(text.includes(HOSTILE) && await page.locator('img').count() ===
	    0 && dialogs.length === 0,
	    'evidence page: the hostile claims as text, no img, no dialog',
	    `${dialogs}`);
	await shot(page, 'evidence', 390, 844);
	await page.setViewportSize({ width: 1280, height: 800 });
	await page.goto(`${base}/incidents`);
	await shots(page, 'incidents');

	// Abort asks first: a confirm page (no dialog) that changes nothing
	// until its own button is pressed; leaving it keeps the gate.
	await page.goto(`${base}/runs/${env.RUN_A}`);
	await Promise.all([page.waitForNavigation(),
	    page.click('#decide button[name="action"][value="abort"]')]);
	const heading = (await page.textContent('h1')).trim();
	check(heading === 'Abort run RAY-DASH-A?' && await page.locator(
	    '#confirm button[name="action"][value="abort"]').count() === 1 &&
	    await page.locator('#confirm input[name="confirm"]')
	    .getAttribute('value') === '1' && dialogs.length === 0,
	    'Abort opens a confirm page with its own button, no dialog',
	    heading);
	check(await status(page) === 'waiting_approval',
	    'the confirm page changed nothing: still waiting_approval',
	    await status(page));
	await Promise.all([page.waitForNavigation(),
	    page.click('text=Back to the run')]);
	check(await status(page) === 'waiting_approval' && await page
	    .locator('#decide button[name="action"][value="approve"]')
	    .count() === 1, 'back from the confirm page: the gate is still ' +
	    'open', await status(page));

	// Live: rvctl abort from another process changes the open page
	await page.goto(`${base}/runs/${env.RUN_A}`);
	await page.waitForFunction(() =>
	    document.getElementById('live').textContent === 'live',
	    null, { timeout: 5000 }).catch(() => {});
	await page.evaluate(() => { window.rvNoReload = 1; });
	await run(env.RVCTL, ['abort', '--run', env.RUN_A, '--operator',
	    'other-terminal']);
	const t0 = Date.now();
	const live = await page.waitForFunction(() =>
	    document.getElementById('run-status').textContent.trim() ===
	    'aborted', null, { timeout: 2000 }).then(() => true, () => false);
	check(live && await page.evaluate(() => window.rvNoReload === 1),
	    `rvctl abort: the open page says aborted in ${Date.now() - t0} ` +
	    'ms, without a reload', await status(page));

	// Run B gates once A is gone; approve it from its page
	const sb = await waitStatus(page, env.RUN_B, 'waiting_approval',
	    60 * patience);
	check(sb === 'waiting_approval', 'run B gated', sb);
	const watcher = await ctx.newPage();
	watch(watcher);
	await watcher.goto(`${base}/runs/${env.RUN_B}`);
	await watcher.evaluate(() => { window.rvNoReload = 1; });
	await Promise.all([page.waitForNavigation(),
	    page.click('#decide button[name="action"][value="approve"]')]);
	const answer = await page.textContent('main');
	check(/\bapplied\b/.test(answer) && !/already applied|no longer/
	    .test(answer), 'Approve on run B: applied', answer.slice(0, 200));
	const resumed = await watcher.waitForFunction(() =>
	    document.getElementById('run-status').textContent.trim() !==
	    'waiting_approval', null, { timeout: 5000 })
	    .then(() => true, () => false);
	check(resumed && await watcher.evaluate(() => window.rvNoReload ===
	    1), 'run B resumes: its open page leaves waiting_approval ' +
	    'without a reload', await status(watcher));
	check(dialogs.length === 0, 'no dialog anywhere', `${dialogs}`);
} catch (e) {
	fail(`browser script: ${e.stack || e}`);
} finally {
	await browser.close();
}
process.exit(fails > 0 ? 1 : 0);
