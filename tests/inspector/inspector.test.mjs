// The web inspector of `memorable serve` in a real browser: Debian's Chromium, headless,
// driven by playwright-core over the DevTools protocol, against a server on a loopback port
// with a small store. Run by scripts/test-inspector.sh; screenshots go to
// $INSPECTOR_ARTIFACTS (default <repo>/target/inspector-artifacts), never into the repo,
// unless MEMORABLE_UPDATE_DOCS_IMAGES=1 refreshes docs/images/inspector.png.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { chromium } from 'playwright-core'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BIN = process.env.MEMORABLE_BIN || join(REPO, 'target', 'release', 'memorable')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const ARTIFACTS = process.env.INSPECTOR_ARTIFACTS || join(REPO, 'target', 'inspector-artifacts')
const KEY = 'inspector-test-key'
const HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & "quotes"'

let dir, server, base, browser

async function post(path, body) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!res.ok) assert.fail(`${path}: ${res.status} ${await res.text()}`)
  return res.json()
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  dir = mkdtempSync(join(tmpdir(), 'memorable-inspector-'))
  const digest = createHash('sha256').update(KEY).digest('hex')
  const settings = join(dir, 'server.toml')
  writeFileSync(settings, `[server]\n[[server.keys]]\nname = "inspector"\nsha256 = "${digest}"\nusers = ["ann", "ben"]\n`)
  server = spawn(BIN, ['--embedder', 'hashing', '--store', join(dir, 'store'), 'serve', '--listen', '127.0.0.1:0', '--config', settings],
    { stdio: ['ignore', 'pipe', 'inherit'] })
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: server.stdout }).once('line', resolve)
    server.once('exit', (code) => reject(new Error(`memorable serve exited with ${code}`)))
  })
  base = first.trim().replace(/^listening on /, '')
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/)

  const day = (d, h) => `2026-11-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`
  const items = [
    { text: 'We planted tomatoes and basil in the garden this morning', speaker: 'ann', session: 's1', tags: ['garden'], occurred_at: day(1, 9) },
    { text: 'Ben said the garden fence needs paint before winter', speaker: 'ben', session: 's1', tags: ['garden', 'chores'], occurred_at: day(1, 10) },
    { text: 'My sister Lena visits from Lisbon in June', speaker: 'ann', session: 's2', tags: ['family'], occurred_at: day(2, 18) },
    { text: 'The quarterly budget review moved to Thursday', speaker: 'ann', session: 's2', tags: ['work'], occurred_at: day(3, 8) },
    { text: HOSTILE, speaker: 'mallory', session: 's3', tags: ['<b>bold</b>'], occurred_at: day(4, 12) },
    { text: 'I felt calm after the long walk by the river', speaker: 'ann', session: 's3', occurred_at: day(5, 19) },
  ].map((m) => ({ user: 'ann', ...m }))
  await post('/v1/memories:batch', { items })
  await post('/v1/memories', { user: 'ben', text: 'ben keeps his own notes' })
  // A context whose name is markup, under ben.
  await post(`/v1/contexts/${encodeURIComponent('<i>x</i>')}/readings?user=ben`, { source: 'face', scores: { Joy: 0.5 } })
  const readings = readFileSync(join(REPO, 'tests', 'fixtures', 'timeline-readings.jsonl'), 'utf8').trim().split('\n')
  for (const line of readings) {
    const { context, ...reading } = JSON.parse(line)
    await post(`/v1/contexts/evening-call/readings?user=ann`, reading)
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  })
})

after(async () => {
  await browser?.close()
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGTERM')
    await exited
  }
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** A fresh page that records uncaught errors, CSP violations and console errors. */
async function openPage(viewport = { width: 1200, height: 860 }) {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  page.problems = []
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`))
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`) })
  page.on('response', (r) => { if (r.status() >= 400) page.problems.push(`http ${r.status()}: ${r.url()}`) })
  await page.goto(`${base}/`)
  return page
}

async function signIn(page, key) {
  await page.fill('#key', key)
  await page.press('#key', 'Enter')
}

test('a wrong key shows the login again, with no data', async () => {
  const page = await openPage()
  await page.waitForSelector('#login:not([hidden])')
  await signIn(page, 'not-the-key')
  await page.waitForSelector('#login-error:not([hidden])')
  assert.match(await page.textContent('#login-error'), /refused/)
  assert.equal(await page.isVisible('#app'), false)
  assert.equal(await page.evaluate(() => sessionStorage.getItem('memorable.key')), null)
  await page.screenshot({ path: join(ARTIFACTS, 'login-refused.png') })
  await page.context().close()
})

test('the memory list renders, hostile text stays text, search shows breakdown bars', async () => {
  const page = await openPage()
  await signIn(page, KEY)
  await page.waitForSelector('#user-list button[data-user="ann"][aria-current="true"]')
  assert.deepEqual(await page.$$eval('#user-list .count', (n) => n.map((x) => x.textContent)), ['6', '1'])
  await page.waitForFunction(() => document.querySelectorAll('#memory-list li').length === 6)
  // Newest first.
  const texts = await page.$$eval('#memory-list .text', (n) => n.map((x) => x.textContent))
  assert.equal(texts[0], 'I felt calm after the long walk by the river')
  // The hostile memory is shown as its exact text, and nothing of it ran or became an element.
  assert.ok(texts.includes(HOSTILE))
  assert.equal(await page.evaluate(() => window.__pwned), undefined)
  assert.equal(await page.$$eval('#memory-list img, #memory-list script', (n) => n.length), 0)
  assert.equal(await page.$$eval('script', (n) => n.length), 1)
  assert.ok((await page.textContent('#memory-list')).includes('#<b>bold</b>'))
  assert.equal(await page.$$eval('b, i', (n) => n.length), 0)

  // A context name that is markup is listed as text too (ben's).
  await page.click('#user-list button[data-user="ben"]')
  await page.waitForFunction(() => document.getElementById('user-title').textContent === 'ben')
  await page.waitForFunction(() => document.querySelectorAll('#context-select option').length === 1)
  assert.match(await page.textContent('#context-select option'), /^<i>x<\/i> \(1 readings\)$/)
  assert.equal(await page.$$eval('b, i', (n) => n.length), 0)
  await page.click('#user-list button[data-user="ann"]')
  await page.waitForFunction(() => document.querySelectorAll('#memory-list li').length === 6)

  // Filters: a session.
  await page.fill('#filters input[name="session"]', 's2')
  await page.click('#filters button[type="submit"]')
  await page.waitForFunction(() => document.querySelectorAll('#memory-list li').length === 2)
  await page.fill('#filters input[name="session"]', '')
  await page.click('#filters button[type="submit"]')
  await page.waitForFunction(() => document.querySelectorAll('#memory-list li').length === 6)

  // Search, from the keyboard: "/" focuses the box.
  await page.keyboard.press('/')
  assert.equal(await page.evaluate(() => document.activeElement.id), 'query')
  await page.keyboard.type('garden fence paint')
  await page.keyboard.press('Enter')
  await page.waitForSelector('#hits li svg.bars')
  const first = await page.$eval('#hits li', (li) => ({
    text: li.querySelector('.text').textContent,
    signals: [...li.querySelectorAll('svg.bars g')].map((g) => g.dataset.signal),
    widths: Object.fromEntries([...li.querySelectorAll('svg.bars g')].map((g) =>
      [g.dataset.signal, Number(g.querySelectorAll('rect')[1].getAttribute('width'))])),
  }))
  assert.equal(first.text, 'Ben said the garden fence needs paint before winter')
  for (const s of ['semantic', 'keyword', 'recency', 'salience', 'mood', 'who', 'date']) assert.ok(first.signals.includes(s), s)
  assert.ok(first.widths.keyword > 0 && first.widths.semantic > 0, JSON.stringify(first.widths))
  await page.screenshot({ path: join(ARTIFACTS, 'search.png') })
  assert.deepEqual(page.problems, [])
  await page.context().close()
})

test('a memory opens with its history, and forget asks first', async () => {
  const page = await openPage()
  await signIn(page, KEY)
  await page.waitForFunction(() => document.querySelectorAll('#memory-list li').length === 6)
  await page.click('#memory-list li:nth-child(4) button.row')
  await page.waitForSelector('#detail h3#detail-title')
  const detail = await page.textContent('#detail')
  assert.match(detail, /My sister Lena visits from Lisbon in June/)
  assert.match(detail, /Version history/)
  assert.match(detail, /v1 ·/)
  await page.click('#forget')
  await page.waitForSelector('#confirm-forget')
  assert.equal(await page.evaluate(() => document.activeElement.id), 'confirm-forget')
  await page.keyboard.press('Enter')
  await page.waitForFunction(() => document.querySelectorAll('#memory-list li').length === 5)
  assert.match(await page.textContent('#memories-status'), /Forgot/)
  // The user list refreshes after the memory list (its own request): wait for its count.
  await page.waitForFunction(
    () => document.querySelector('#user-list button[data-user="ann"] .count')?.textContent === '5',
  )
  assert.deepEqual(page.problems, [])
  await page.context().close()
})

test('the emotion timeline draws and the state shows, the frame and health render', async () => {
  const page = await openPage()
  await signIn(page, KEY)
  await page.waitForSelector('#user-list button[aria-current="true"]')
  // Arrow keys move between tabs.
  await page.focus('#tab-memories')
  await page.keyboard.press('ArrowRight')
  await page.keyboard.press('ArrowRight')
  assert.equal(await page.getAttribute('#tab-emotion', 'aria-selected'), 'true')
  await page.waitForFunction(() => {
    const img = document.getElementById('timeline')
    return !img.hidden && img.complete && img.naturalWidth > 0
  })
  // The picture is not blank: draw it on a canvas and count the pixels that are not white.
  const inked = await page.evaluate(async () => {
    const img = document.getElementById('timeline')
    // A redraw (the tab opening at a new width) may swap the picture after the wait above:
    // read it only once the source it shows has decoded and stayed the same.
    for (;;) {
      const src = img.src
      await img.decode().catch(() => {})
      if (img.src === src && img.naturalWidth > 0) break
    }
    const canvas = document.createElement('canvas')
    canvas.width = img.naturalWidth
    canvas.height = img.naturalHeight
    const g = canvas.getContext('2d')
    g.drawImage(img, 0, 0)
    const { data } = g.getImageData(0, 0, canvas.width, canvas.height)
    let n = 0
    const colours = new Set()
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) n++
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2])
    }
    return { share: n / (data.length / 4), colours: colours.size }
  })
  assert.ok(inked.share > 0.02 && inked.colours > 20, JSON.stringify(inked))
  await page.waitForSelector('#state dl')
  assert.match(await page.textContent('#state'), /Dominant now/)
  await page.screenshot({ path: join(ARTIFACTS, 'emotion.png'), fullPage: true })

  await page.click('#tab-frame')
  await page.waitForSelector('#frame section')
  assert.match(await page.textContent('#frame'), /Who/)
  await page.click('#tab-health')
  await page.waitForFunction(() => /Health: (ok|degraded)/.test(document.getElementById('health').textContent))
  await page.waitForFunction(() => document.querySelectorAll('#metrics dt').length > 0)
  assert.match(await page.textContent('#alerts'), /No alert is firing/)
  assert.deepEqual(page.problems, [])
  await page.context().close()
})

test('works at phone width with no sideways scrolling', async () => {
  const page = await openPage({ width: 390, height: 844 })
  await signIn(page, KEY)
  await page.waitForFunction(() => document.querySelectorAll('#memory-list li').length > 0)
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert.ok((await overflow()) <= 0, `the page is ${await overflow()}px wider than the phone`)
  await page.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true })
  // The search view with its breakdown charts, and the emotion view with its picture, fit too.
  await page.click('#tab-search')
  await page.fill('#query', 'garden')
  await page.press('#query', 'Enter')
  await page.waitForSelector('#hits li svg.bars')
  assert.ok((await overflow()) <= 0, `search is ${await overflow()}px wider than the phone`)
  await page.click('#tab-emotion')
  await page.waitForFunction(() => document.getElementById('timeline').naturalWidth > 0)
  assert.ok((await overflow()) <= 0, `the emotion view is ${await overflow()}px wider than the phone`)
  await page.screenshot({ path: join(ARTIFACTS, 'phone-emotion.png'), fullPage: true })
  await page.context().close()
})

test('a key that stops working shows the login again', async () => {
  const page = await openPage()
  await signIn(page, KEY)
  await page.waitForSelector('#frame section', { state: 'attached' })
  // The key in the tab's storage is no longer one the server knows (revoked, rotated).
  await page.evaluate(() => sessionStorage.setItem('memorable.key', 'revoked'))
  await page.reload()
  await page.waitForSelector('#login-error:not([hidden])')
  assert.match(await page.textContent('#login-error'), /refused/)
  assert.equal(await page.isVisible('#app'), false)
  assert.equal(await page.evaluate(() => sessionStorage.getItem('memorable.key')), null)
  await page.context().close()
})

test('the screenshot for the README', async () => {
  const page = await openPage({ width: 1100, height: 720 })
  await signIn(page, KEY)
  await page.waitForFunction(() => document.querySelectorAll('#memory-list li').length > 0)
  await page.click('#tab-search')
  await page.fill('#query', 'garden')
  await page.press('#query', 'Enter')
  await page.waitForSelector('#hits li svg.bars')
  const shot = join(ARTIFACTS, 'inspector.png')
  await page.screenshot({ path: shot })
  if (process.env.MEMORABLE_UPDATE_DOCS_IMAGES === '1') {
    mkdirSync(join(REPO, 'docs', 'images'), { recursive: true })
    writeFileSync(join(REPO, 'docs', 'images', 'inspector.png'), readFileSync(shot))
  }
  await page.context().close()
})
