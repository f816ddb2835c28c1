// walk.js: a person works a release in the web desktop, in Debian's
// chromium driven headless by playwright-core: log in, register, plan,
// relate a CI, authorize, approve, execute, close; a refused action shows
// its dry-run reason; the queue follows the event stream; screenshots.
// Run by tests/spec/web/browser_spec.lua: RELM_URL, RELM_PASSWORD,
// PLAYWRIGHT (the module's path), ARTEFACTS (a directory). Prints one JSON
// line per step: {"step": ..., "ok": true|false, "error": ...}.
"use strict";
const { chromium } = require(process.env.PLAYWRIGHT);

const base = process.env.RELM_URL;
const out = process.env.ARTEFACTS;
let failed = 0;

async function step(name, fn) {
  try {
    const detail = await fn();
    console.log(JSON.stringify({ step: name, ok: true, detail: detail === undefined ? null : detail }));
  } catch (e) {
    failed++;
    console.log(JSON.stringify({ step: name, ok: false, error: String(e && e.stack || e) }));
    throw e;
  }
}

function must(cond, what) {
  if (!cond) throw new Error(what);
}

// Fill and send the form of action `name` on the release page (fields by
// their names: the labels are in the reader's language).
async function act(page, name, fields) {
  const form = page.locator(`form[data-action="${name}"]`);
  for (const [k, v] of Object.entries(fields || {})) {
    await form.locator(`[name="${k}"]`).fill(v);
  }
  await Promise.all([page.waitForLoadState("load"), form.getByRole("button", { name: "Do it" }).click()]);
}

// The release's state: its identifier (the page shows its label).
async function state(page) {
  return await page.locator(".lead .state").getAttribute("data-state");
}

(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  let releaseUrl, number;
  try {
    await step("an unknown password is refused on the login page", async () => {
      await page.goto(base + "/");
      must(page.url().includes("/login"), "not sent to /login: " + page.url());
      await page.getByLabel("User name").fill("admin");
      await page.getByLabel("Password").fill("wrong password");
      await page.getByRole("button", { name: "Log in" }).click();
      const msg = await page.locator(".refusal").textContent();
      must(/password|user/i.test(msg), "no refusal shown: " + msg);
    });
    await step("log in with the password", async () => {
      await page.getByLabel("Password").fill(process.env.RELM_PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: "Release desktop" }).waitFor();
      must((await page.locator("html").getAttribute("lang")) === "en", "no lang attribute");
    });
    await step("register a release", async () => {
      await page.getByRole("link", { name: "Register" }).click();
      await page.getByLabel("Title").fill("Deploy CRM 2.0");
      await page.getByLabel("Executor group").selectOption("ops");
      await page.getByLabel("Impact").selectOption("high");
      await page.getByLabel("Urgency").selectOption("high");
      await page.getByRole("button", { name: "Register" }).click();
      number = (await page.locator("h1").textContent()).trim();
      must(/^REL-\d{4}-\d+$/.test(number), "no release number: " + number);
      releaseUrl = page.url();
      must((await state(page)) === "registered", "state " + (await state(page)));
      return number;
    });
    await step("the queue shows it with its counts as charts (screenshot at 1280 px)", async () => {
      await page.getByRole("link", { name: "Queue" }).click();
      const row = page.locator("#queue tr[data-kind=release]", { hasText: number });
      await row.waitFor();
      must((await row.textContent()).includes("Registered"), "no current task (the state's label) in the row");
      must((await page.locator(".charts svg").count()) === 3, "three charts expected");
      await page.screenshot({ path: out + "/desktop-1280.png", fullPage: true });
    });
    await step("plan: add an activity and move it along the board", async () => {
      await page.goto(releaseUrl);
      await page.getByLabel("Activity", { exact: true }).fill("Back up the database");
      await page.locator("#f-activity-group").selectOption("ops");
      await page.getByRole("button", { name: "Add activity" }).click();
      const todo = page.locator('section.column[aria-label="To do"]');
      await todo.getByText("Back up the database").waitFor();
      await todo.getByRole("button", { name: /Move to/ }).click();
      await page.locator('section.column[aria-label="In progress"]').getByText("Back up the database").waitFor();
    });
    await step("relate a CI; the impact shows what it can break", async () => {
      await page.locator("#f-rel-kind").selectOption("ci");
      await page.locator("#f-rel-target").fill("web01");
      await page.getByRole("button", { name: "Relate" }).click();
      await page.locator("table", { hasText: "Related items" }).getByText("web01").waitFor();
      must((await page.locator("table", { hasText: "Affected CI" }).textContent()).includes("crm"),
        "impact does not name crm");
    });
    await step("suspend asks for a justification: the browser keeps the form until one is chosen, nothing written", async () => {
      const before = await page.locator("table", { hasText: "History" }).locator("tbody tr").count();
      const form = page.locator('form[data-action="suspend"]');
      const choices = await form.locator('select[name="justification"] option').allTextContents();
      must(choices.includes("Waiting for the vendor"), "no justification offered: " + choices.join(", "));
      must((await form.locator(".refusal").count()) === 0, "a refusal shown before anything was sent");
      must(!/opts\.|relm\./.test(await form.textContent()), "Lua shown to a browser user");
      await form.getByRole("button", { name: "Do it" }).click();
      must(await form.locator('select[name="justification"]').evaluate((e) => !e.validity.valid),
        "the justification is not required");
      // "Try" sends the form as it is: the dry run says what is missing
      await Promise.all([page.waitForLoadState("load"),
        form.getByRole("button", { name: "Try (dry run)" }).click()]);
      const why = await page.locator('form[data-action="suspend"] .refusal').textContent();
      must(/justification/.test(why) && !/opts\./.test(why), "no reason in words: " + why);
      await page.goto(releaseUrl);
      const after = await page.locator("table", { hasText: "History" }).locator("tbody tr").count();
      must(before === after, `history grew from ${before} to ${after}`);
      must((await state(page)) === "registered", "state changed");
      return why.trim();
    });
    await step("authorize; the queue open in another tab follows the event stream", async () => {
      const queue = await ctx.newPage();
      await queue.goto(base + "/");
      await queue.waitForFunction(() => document.body.dataset.stream === "on");
      await act(page, "authorize");
      must((await state(page)) === "in_execution", "state " + (await state(page)));
      const row = queue.locator(`#queue tr[data-kind=release][data-release]`, { hasText: number });
      // the task column's label (case matters: the situation column says "in execution")
      await row.filter({ hasText: /In execution/ }).waitFor({ timeout: 15000 });
      must(await queue.locator("tr.flash").count() > 0, "the updated row is not marked");
      await queue.close();
    });
    await step("execute and pass the test", async () => {
      await act(page, "execute");
      must((await state(page)) === "in_test", "state " + (await state(page)));
      await act(page, "pass");
      must((await state(page)) === "homologation", "state " + (await state(page)));
    });
    await step("approve (the CAB asks admin) and resolve", async () => {
      await page.getByLabel("Decision").selectOption("approve");
      await page.getByRole("button", { name: "Decide" }).click();
      await page.locator('form[data-action="resolve"]').waitFor();
      await act(page, "resolve");
      must((await state(page)) === "resolved", "state " + (await state(page)));
    });
    await step("close: the form asks for the closure fields, the dry run names them; then closed", async () => {
      const form = page.locator('form[data-action="accept"]');
      must(await form.locator('[name="release_date"]').evaluate((e) => e.required), "release_date not required");
      await Promise.all([page.waitForLoadState("load"),
        form.getByRole("button", { name: "Try (dry run)" }).click()]);
      const why = await page.locator('form[data-action="accept"] .refusal').textContent();
      must(/Release date|Closure/.test(why), "no reason: " + why);
      await act(page, "accept", { release_date: "2026-12-07", solution_category: "deployed",
        closure_text: "CRM 2.0 is live" });
      must((await state(page)) === "closed", "state " + (await state(page)));
      await page.screenshot({ path: out + "/release-page.png", fullPage: true });
      return why.trim();
    });
    await step("the advanced search finds it closed and exports it as CSV", async () => {
      await page.getByRole("link", { name: "Search" }).click();
      await page.getByLabel("Status").selectOption("closed");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.locator("table").getByText(number).waitFor();
      const href = await page.getByRole("link", { name: "CSV" }).getAttribute("href");
      const csv = await (await page.request.get(base + href)).text();
      must(csv.startsWith("id,number,") && csv.includes(number), "export: " + csv.slice(0, 200));
    });
    await step("on a phone (390 px) the queue fits the width (screenshot)", async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(releaseUrl);
      await page.screenshot({ path: out + "/release-phone.png", fullPage: true });
      await page.goto(base + "/");
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      await page.screenshot({ path: out + "/desktop-phone.png", fullPage: true });
      must(wide <= 391, "the page is " + wide + " px wide on a 390 px screen");
    });
    await step("the keyboard reaches the skip link first, then the navigation", async () => {
      await page.keyboard.press("Tab");
      must((await page.evaluate(() => document.activeElement.className)) === "skip", "skip link not first");
      await page.keyboard.press("Tab");
      must((await page.evaluate(() => document.activeElement.textContent)) === "Queue", "navigation not next");
    });
    await step("the calendar shows the freeze window as a bar for the period asked", async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.getByRole("link", { name: "Calendar" }).click();
      await page.getByLabel("From").fill("2027-12-01");
      await page.getByLabel("To").fill("2028-01-31");
      await page.getByRole("button", { name: "Show" }).click();
      const bar = page.locator('svg rect.blackout[data-window="browser-freeze"]');
      await bar.waitFor({ state: "attached" });
      const width = Number(await bar.getAttribute("width"));
      must(width > 0, "the window's bar has no width: " + width);
      await page.screenshot({ path: out + "/calendar.png", fullPage: true });
    });
    await step("log out", async () => {
      await page.getByRole("button", { name: "Log out" }).click();
      must(page.url().includes("/login"), "not on the login page: " + page.url());
      await page.goto(base + "/");
      must(page.url().includes("/login"), "still logged in");
    });
  } catch (e) {
    await page.screenshot({ path: out + "/failure.png", fullPage: true }).catch(() => {});
    require("fs").writeFileSync(out + "/failure.html", await page.content().catch(() => ""));
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();
