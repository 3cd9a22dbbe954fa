// Loads each concbench report.html in headless Chromium with the network off, and fails on:
// a console error or warning, a script error, any request that leaves the file, a picture that
// does not render (not decoded, or smaller than 200 x 100 px on the page, or without a text
// alternative), or a table whose rows differ from the Markdown file the page was made from.
// Writes a full-page screenshot (PNG) and a PDF of each page into OUT_DIR.
//
//   node check-pages.mjs OUT_DIR PAGE.html...
//
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM); playwright-core drives it and brings
// no browser of its own.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [outDir, ...pages] = process.argv.slice(2);
if (!outDir || pages.length === 0) {
  console.error('usage: node check-pages.mjs OUT_DIR PAGE.html...');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

// Rows of each Markdown table in `md`, header included, separator line left out.
function markdownTableRows(md) {
  const counts = [];
  let run = 0;
  for (const line of md.split('\n').concat([''])) {
    if (line.startsWith('|')) {
      run += 1;
    } else if (run > 0) {
      counts.push(run - 1);
      run = 0;
    }
  }
  return counts;
}

// The one Markdown file beside the page: the source it was made from.
function sourceMarkdown(page) {
  const dir = path.dirname(page);
  const md = fs.readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md');
  if (md.length !== 1) {
    return null;
  }
  return fs.readFileSync(path.join(dir, md[0]), 'utf8');
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
});

let failed = 0;
for (const file of pages) {
  const abs = path.resolve(file);
  const url = pathToFileURL(abs).href;
  const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      problems.push(`console ${m.type()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (u !== url && !u.startsWith('data:')) {
      problems.push(`request leaving the file: ${u}`);
    }
  });
  await page.route('**/*', (route) => {
    const u = route.request().url();
    return u === url ? route.continue() : route.abort();
  });
  await page.goto(url, { waitUntil: 'load', timeout: 60000 });

  const pictures = await page.$$eval('img', (imgs) =>
    imgs.map((i) => {
      const box = i.getBoundingClientRect();
      return { alt: i.alt, decoded: i.complete && i.naturalWidth > 0, width: box.width, height: box.height };
    }),
  );
  pictures.forEach((p, k) => {
    if (!p.decoded) problems.push(`picture ${k + 1} did not render`);
    if (p.width < 200 || p.height < 100) problems.push(`picture ${k + 1} is ${p.width}x${p.height} px`);
    if (!p.alt || p.alt.trim().length < 10) problems.push(`picture ${k + 1} has no text alternative`);
  });

  const rows = await page.$$eval('table', (tables) => tables.map((t) => t.querySelectorAll('tr').length));
  if (rows.length === 0) problems.push('no table on the page');
  const md = sourceMarkdown(abs);
  if (md === null) {
    problems.push('no single Markdown file beside the page to compare its tables with');
  } else {
    const expected = markdownTableRows(md);
    if (JSON.stringify(expected) !== JSON.stringify(rows)) {
      problems.push(`table rows ${JSON.stringify(rows)} on the page, ${JSON.stringify(expected)} in the Markdown`);
    }
  }

  const stem = path.relative(process.cwd(), abs).replace(/[\\/]/g, '_').replace(/\.html$/, '');
  const png = path.join(outDir, `${stem}.png`);
  const pdf = path.join(outDir, `${stem}.pdf`);
  await page.screenshot({ path: png, fullPage: true });
  await page.pdf({ path: pdf, format: 'A4', printBackground: true });
  const sizes = [png, pdf].map((f) => fs.statSync(f).size);
  if (sizes[0] < 5000 || sizes[1] < 5000) problems.push(`screenshot ${sizes[0]} B, PDF ${sizes[1]} B: nothing drawn`);
  await context.close();

  if (problems.length > 0) {
    failed += 1;
    console.log(`FAIL ${file}`);
    for (const p of problems) console.log(`  ${p}`);
  } else {
    console.log(
      `ok   ${file}: ${rows.length} table(s) with ${rows.join('+')} rows, ${pictures.length} picture(s), ` +
        `screenshot ${Math.round(sizes[0] / 1024)} KiB, PDF ${Math.round(sizes[1] / 1024)} KiB`,
    );
  }
}
await browser.close();
if (failed > 0) {
  console.log(`${failed} of ${pages.length} page(s) failed`);
  process.exit(1);
}
console.log(`${pages.length} page(s) passed`);
