// SPDX-License-Identifier: ISC
// The fake Dzine page's behaviour (tests only; see server.py): upload,
// generate with a progress bar polled from the server, export download,
// credits balance, and the misbehaviour the query string asks for.
"use strict";

const q = location.search;
const $ = (s) => document.querySelector(s);
const ui = {
	credits: $(".user-credits .credit-num"),
	error: $(".error-banner"),
	image: $("#lipsync-panel input[accept^='image']"),
	audio: $("#lipsync-panel input[accept^='audio']"),
	prompt: $("textarea.prompt-input"),
	generate: $("button.generate-btn"),
	bar: $(".task-progress progress"),
	pct: $(".task-progress .pct"),
	exportBtn: $("a.export-btn"),
};
const state = { image: null, audio: null, audioName: "", busy: false };

function api(path) {
	return path + (path.includes("?") ? "&" : "?") + q.replace(/^\?/, "");
}

function showError(msg) {
	ui.error.textContent = msg;
	ui.error.hidden = false;
	state.busy = false;
	refresh();
}

function setCredits(n) {
	ui.credits.textContent = n.toLocaleString("en-US");
}

function refresh() {
	ui.generate.disabled = state.busy || state.audio === null;
}

async function loadBalance() {
	const r = await fetch(api("/api/balance"));
	setCredits((await r.json()).credits);
}

async function upload(kind, input) {
	const f = input.files[0];
	if (!f)
		return;
	const r = await fetch(api("/api/upload?kind=" + kind + "&name=" +
	    encodeURIComponent(f.name)), { method: "POST", body: f });
	if (!r.ok) {
		showError("Upload failed.");
		return;
	}
	state[kind] = (await r.json()).upload_id;
	if (kind === "audio")
		state.audioName = f.name;
	refresh();
}

function freezeNow(job) {
	// Tell the test when, then hang the page's only thread for good.
	const x = new XMLHttpRequest();
	x.open("POST", api("/api/frozen?job=" + job), false);
	x.send();
	for (;;) {
	}
}

async function poll(job, freeze) {
	const r = await fetch(api("/api/job/" + job));
	const j = await r.json();
	ui.bar.value = j.progress;
	ui.pct.textContent = j.progress + "%";
	if (j.state === "failed") {
		showError(j.error);
		return;
	}
	if (freeze && j.progress >= 40)
		freezeNow(job);
	if (j.state === "done") {
		await loadBalance();
		ui.exportBtn.href = api("/api/export/" + job);
		ui.exportBtn.hidden = false;
		state.busy = false;
		refresh();
		return;
	}
	setTimeout(() => poll(job, freeze), 100);
}

async function generate() {
	state.busy = true;
	ui.error.hidden = true;
	refresh();
	const r = await fetch(api("/api/generate"), {
		method: "POST",
		headers: { "Content-Type": "application/json" },
		body: JSON.stringify({ image: state.image, audio: state.audio,
		    prompt: ui.prompt.value }),
	});
	const j = await r.json();
	if (!r.ok) {
		showError(j.error);
		return;
	}
	setCredits(j.credits);
	setTimeout(() => poll(j.job, j.freeze), 100);
}

ui.image.addEventListener("change", () => upload("image", ui.image));
ui.audio.addEventListener("change", () => upload("audio", ui.audio));
ui.generate.addEventListener("click", generate);
ui.exportBtn.addEventListener("click", () => {
	// The balance is refreshed after an export, as the real site does.
	ui.credits.textContent = "\u2026";
	setTimeout(loadBalance, 200);
});
loadBalance();
