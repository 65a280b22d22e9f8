// The MemoRable inspector: a page over the /v1 API of `memorable serve`. Every piece of data
// reaches the page through textContent or SVG attributes, never as markup, so memory texts
// (user content) always render as text. The API key lives in sessionStorage for this tab.
'use strict'

const KEY = 'memorable.key'
const PAGE = 20
const SVG_NS = 'http://www.w3.org/2000/svg'

const state = { users: [], user: null, offset: 0, filters: {}, timelineUrl: null, seq: {} }

/**
 * A ticket for one view's request: `current()` turns false once a newer request for the same
 * view started or another user was chosen, so a late answer never overwrites a newer view.
 */
function ticket(view) {
  const n = (state.seq[view] || 0) + 1
  state.seq[view] = n
  const user = state.user
  return { current: () => state.seq[view] === n && state.user === user }
}

const $ = (id) => document.getElementById(id)

/** An element with text and attributes; children may be elements or strings (as text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') node.className = v
    else if (k === 'text') node.textContent = v
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v)
    else node.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)))
  return node
}

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  if (text !== undefined) node.textContent = text
  return node
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {}
    super(e.message || `HTTP ${status}`)
    this.status = status
    this.code = e.name
  }
}

async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ''}` }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  if (res.status === 401) {
    signOut('That key was refused. Enter a valid API key.')
    throw new ApiError(401, null)
  }
  if (!res.ok) {
    let payload = null
    try { payload = await res.json() } catch { /* not JSON */ }
    throw new ApiError(res.status, payload)
  }
  return raw ? res : res.json()
}

const q = (params) => {
  const s = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v)
  const text = s.toString()
  return text ? `?${text}` : ''
}
const enc = encodeURIComponent
const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—')
const num = (x, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—')

// ---- sign in / out -------------------------------------------------------------------------

function signOut(message) {
  sessionStorage.removeItem(KEY)
  $('app').hidden = true
  $('logout').hidden = true
  $('login').hidden = false
  const err = $('login-error')
  err.textContent = message || ''
  err.hidden = !message
  $('key').value = ''
  $('key').focus()
}

async function signIn() {
  $('login').hidden = true
  $('app').hidden = false
  $('logout').hidden = false
  try {
    await loadUsers()
  } catch (e) {
    if (e.status === 401) throw e
    $('user-list').replaceChildren(el('li', { class: 'error', text: `Could not list users: ${e.message}` }))
  }
  refreshHealth()
}

// ---- users ---------------------------------------------------------------------------------

async function loadUsers() {
  const { users } = await api('/v1/users')
  state.users = users
  const list = $('user-list')
  list.replaceChildren()
  if (users.length === 0) list.append(el('li', { class: 'muted', text: 'No users yet.' }))
  for (const u of users) {
    const button = el('button', { type: 'button', 'data-user': u.user, onclick: () => chooseUser(u.user) },
      el('span', { text: u.user }), el('span', { class: 'count', text: String(u.memories) }))
    list.append(el('li', {}, button))
  }
  if (users.length > 0) await chooseUser(state.user && users.some((u) => u.user === state.user) ? state.user : users[0].user)
}

async function chooseUser(user) {
  state.user = user
  state.offset = 0
  for (const b of document.querySelectorAll('#user-list button')) b.setAttribute('aria-current', String(b.dataset.user === user))
  $('user-title').textContent = user
  $('detail').hidden = true
  $('hits').replaceChildren()
  $('search-status').textContent = ''
  await loadMemories()
  await loadContexts()
  await loadFrame()
}

// ---- memories ------------------------------------------------------------------------------

function readFilters() {
  const f = new FormData($('filters'))
  const iso = (v) => (v ? new Date(v).toISOString() : '')
  return {
    session: f.get('session').trim(), speaker: f.get('speaker').trim(), tags: f.get('tags').trim(),
    kinds: f.get('kinds').trim(), since: iso(f.get('since')), until: iso(f.get('until')),
  }
}

async function loadMemories() {
  if (!state.user) return
  const status = $('memories-status')
  status.textContent = 'Loading…'
  const t = ticket('memories')
  const params = { ...state.filters, limit: PAGE + 1, offset: state.offset }
  let memories
  try {
    ({ memories } = await api(`/v1/users/${enc(state.user)}/recent${q(params)}`))
  } catch (e) {
    if (t.current()) status.textContent = `Could not list memories: ${e.message}`
    return
  }
  if (!t.current()) return
  if (memories.length === 0 && state.offset > 0) {
    // The last page emptied (a forget): show the one before.
    state.offset = Math.max(0, state.offset - PAGE)
    return loadMemories()
  }
  const more = memories.length > PAGE
  memories = memories.slice(0, PAGE)
  const list = $('memory-list')
  list.replaceChildren(...memories.map(memoryRow))
  status.textContent = memories.length === 0 ? 'No memories match.' : ''
  $('prev').disabled = state.offset === 0
  $('next').disabled = !more
  $('page-label').textContent = memories.length ? `${state.offset + 1}–${state.offset + memories.length}` : ''
}

function memoryRow(m) {
  const row = el('button', { type: 'button', class: 'row', 'data-id': m.id, 'aria-expanded': 'false',
    onclick: () => showMemory(m.id, row) },
  el('div', { class: 'text', text: m.text }),
  el('div', { class: 'meta' },
    el('span', { text: `#${m.id}` }), el('span', { text: when(m.occurred_at) }),
    m.speaker ? el('span', { text: `by ${m.speaker}` }) : '',
    m.session ? el('span', { text: `session ${m.session}` }) : '',
    el('span', { text: m.kind }),
    ...(m.tags || []).map((t) => el('span', { text: `#${t}` }))))
  return el('li', {}, row)
}

async function showMemory(id, row) {
  for (const b of document.querySelectorAll('#memory-list button.row')) b.setAttribute('aria-expanded', 'false')
  if (row) row.setAttribute('aria-expanded', 'true')
  const user = state.user
  const t = ticket('detail')
  const detail = $('detail')
  detail.hidden = false
  detail.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }))
  let m, versions, derived
  try {
    m = await api(`/v1/memories/${id}${q({ user })}`)
    ;({ versions } = await api(`/v1/memories/${id}/history${q({ user })}`))
    ;({ memories: derived } = await api(`/v1/memories/${id}/derived${q({ user })}`))
  } catch (e) {
    if (t.current()) detail.replaceChildren(el('p', { class: 'error', text: `Could not load #${id}: ${e.message}` }))
    return
  }
  if (!t.current()) return
  const dl = el('dl')
  const field = (name, value) => { dl.append(el('dt', { text: name }), el('dd', { text: value ?? '—' })) }
  field('Who', [m.speaker, m.user && m.speaker !== m.user ? `(user ${m.user})` : ''].filter(Boolean).join(' ') || m.user)
  field('What', [m.kind, ...(m.topics || [])].join(' · '))
  field('When', `${when(m.occurred_at)} (${m.occurred_at})`)
  field('Where', m.place || '—')
  field('Session', m.session || '—')
  field('Tags', (m.tags || []).join(', ') || '—')
  field('Importance', num(m.importance, 2))
  if (m.metadata && Object.keys(m.metadata).length) field('Metadata', JSON.stringify(m.metadata))
  const emo = m.emotion
  field('Emotion', emo ? `${emo.dominant || 'none'} · valence ${num(emo.valence, 2)} · arousal ${num(emo.arousal, 2)} · confidence ${num(emo.confidence, 2)}` : 'no snapshot')
  if ((m.derived_from || []).length) field('Derived from', m.derived_from.map((x) => `#${x}`).join(', '))

  const versionList = el('ol', { class: 'versions' },
    ...versions.map((v) => el('li', {}, el('span', { class: 'meta', text: `v${v.version} · ${when(v.valid_from)}` }), ' ', el('span', { class: 'text', text: v.text }))))
  const derivedList = derived.length
    ? el('ul', {}, ...derived.map((d) => el('li', {}, el('span', { class: 'meta', text: `#${d.id} ${d.kind}` }), ' ', el('span', { class: 'text', text: d.text }))))
    : el('p', { class: 'muted', text: 'None yet (consolidation writes summaries and facts derived from turns).' })

  const confirmBox = el('div', { class: 'confirm', hidden: true },
    el('span', { text: `Forget memory #${m.id} for good? This erases its text, vector and history.` }),
    el('button', { type: 'button', class: 'danger', id: 'confirm-forget', onclick: () => forget(m.id) }, 'Yes, forget'),
    el('button', { type: 'button', class: 'quiet', onclick: () => { confirmBox.hidden = true; forgetButton.focus() } }, 'Cancel'))
  const forgetButton = el('button', { type: 'button', class: 'danger', id: 'forget', onclick: () => { confirmBox.hidden = false; $('confirm-forget').focus() } }, 'Forget…')

  detail.replaceChildren(
    el('h3', { id: 'detail-title', text: `Memory #${m.id}` }),
    el('p', { class: 'text', text: m.text }),
    dl,
    el('h3', { text: 'Version history' }), versionList,
    el('h3', { text: 'Derived memories' }), derivedList,
    forgetButton, confirmBox)
  detail.focus()
}

async function forget(id) {
  try {
    await api(`/v1/memories/${id}${q({ user: state.user })}`, { method: 'DELETE' })
  } catch (e) {
    $('memories-status').textContent = `Could not forget #${id}: ${e.message}`
    return
  }
  $('detail').hidden = true
  await loadMemories()
  $('memories-status').textContent = `Forgot #${id}.`
  try {
    const { users } = await api('/v1/users')
    const count = users.find((u) => u.user === state.user)
    const button = document.querySelector(`#user-list button[data-user="${CSS.escape(state.user)}"] .count`)
    if (button) button.textContent = String(count ? count.memories : 0)
  } catch { /* the count refreshes with the next sign-in */ }
}

// ---- search --------------------------------------------------------------------------------

/** The bar chart of one hit's score breakdown: each signal's contribution. */
function breakdownChart(b, scale) {
  const salience = (b.importance || 0) + (b.arousal || 0) + (b.access || 0)
  const rows = [
    ['semantic', b.semantic, 1, b.semantic == null ? 'not a candidate' : `cos ${num(b.semantic)}${b.semantic_rank ? ` · #${b.semantic_rank}` : ''}`],
    ['keyword', b.keyword, scale.keyword, b.keyword == null ? 'no match' : `bm25 ${num(b.keyword, 2)}${b.keyword_rank ? ` · #${b.keyword_rank}` : ''}`],
    ['fused', b.fused, scale.term, num(b.fused)],
    ['recency', b.recency, scale.term, num(b.recency)],
    ['salience', salience, scale.term, num(salience)],
    ['mood', b.mood, scale.term, num(b.mood)],
    ['who', b.who, scale.term, num(b.who)],
    ['date', b.date, scale.term, num(b.date)],
    ['context', b.context, scale.term, num(b.context)],
  ]
  const width = 280, label = 64, bar = 120, rowH = 16
  const svg = svgEl('svg', { class: 'bars', width, height: rows.length * rowH + 4, viewBox: `0 0 ${width} ${rows.length * rowH + 4}`,
    role: 'img', 'aria-label': rows.map(([n, , , t]) => `${n} ${t}`).join(', ') })
  rows.forEach(([name, value, max, text], i) => {
    const y = i * rowH + 2
    const v = typeof value === 'number' && Number.isFinite(value) ? value : 0
    const w = max > 0 ? Math.min(1, Math.abs(v) / max) * bar : 0
    const g = svgEl('g', { 'data-signal': name })
    g.append(svgEl('text', { x: 0, y: y + 11 }, name))
    g.append(svgEl('rect', { class: 'track', x: label, y: y + 2, width: bar, height: 10, rx: 2 }))
    g.append(svgEl('rect', { class: v < 0 ? 'neg' : 'fill', x: label, y: y + 2, width: w.toFixed(1), height: 10, rx: 2 }))
    g.append(svgEl('text', { x: label + bar + 6, y: y + 11 }, text))
    svg.append(g)
  })
  return svg
}

async function search(query) {
  const status = $('search-status')
  status.textContent = 'Searching…'
  const t = ticket('search')
  let hits
  try {
    ({ hits } = await api('/v1/recall', { method: 'POST', body: { user: state.user, query, limit: 10 } }))
  } catch (e) {
    if (t.current()) status.textContent = `Recall failed: ${e.message}`
    return
  }
  if (!t.current()) return
  status.textContent = hits.length ? `${hits.length} hits, best first.` : 'Nothing found.'
  const terms = (b) => [b.fused, b.recency, (b.importance || 0) + (b.arousal || 0) + (b.access || 0), b.mood, b.who, b.date, b.context]
  const scale = {
    keyword: Math.max(0, ...hits.map((h) => h.breakdown.keyword || 0)),
    term: Math.max(0, ...hits.flatMap((h) => terms(h.breakdown).map((x) => Math.abs(x || 0)))),
  }
  $('hits').replaceChildren(...hits.map((h, i) => el('li', { 'data-id': h.id },
    el('div', {},
      el('div', { class: 'meta' }, el('span', { class: 'score', text: `${i + 1}. score ${num(h.score)}` }),
        el('span', { text: `#${h.id}` }), el('span', { text: when(h.occurred_at) }), h.speaker ? el('span', { text: `by ${h.speaker}` }) : ''),
      el('div', { class: 'text', text: h.text })),
    breakdownChart(h.breakdown, scale))))
}

// ---- emotion -------------------------------------------------------------------------------

async function loadContexts() {
  const select = $('context-select')
  select.replaceChildren()
  const t = ticket('contexts')
  let contexts = []
  try {
    ({ contexts } = await api(`/v1/contexts${q({ user: state.user })}`))
  } catch (e) {
    if (t.current()) $('emotion-status').textContent = `Could not list contexts: ${e.message}`
    return
  }
  if (!t.current()) return
  for (const c of contexts) select.append(el('option', { value: c.context, text: `${c.context} (${c.readings} readings)` }))
  $('emotion-status').textContent = contexts.length ? '' : 'No emotion readings for this user yet.'
  $('timeline').hidden = true
  $('state').replaceChildren()
  if (contexts.length) await showContext(contexts[0].context)
}

async function showContext(context) {
  const user = state.user
  const t = ticket('context')
  const img = $('timeline')
  const status = $('emotion-status')
  try {
    // Drawn near the width it is shown at, 16:9; never under 560 px, where the legend column
    // would crowd the lines (a phone shows it scaled down).
    const width = Math.max(560, Math.min(1600, Math.round(img.parentElement.clientWidth || 960)))
    const height = Math.round(width * 0.5625)
    const res = await api(`/v1/contexts/${enc(context)}/timeline.svg${q({ user, width, height })}`, { raw: true })
    const blob = await res.blob()
    const s = await api(`/v1/contexts/${enc(context)}/state${q({ user })}`)
    if (!t.current()) return
    // The new picture is decoded off screen and only then swapped in, so the view never shows
    // an empty frame while it loads; the one shown so far is released after the swap.
    const url = URL.createObjectURL(blob)
    const next = new Image()
    next.src = url
    await next.decode().catch((e) => {
      URL.revokeObjectURL(url)
      throw e
    })
    if (!t.current()) {
      URL.revokeObjectURL(url)
      return
    }
    status.textContent = ''
    const previous = state.timelineUrl
    state.timelineUrl = url
    img.alt = `Emotion timeline of ${context}`
    img.src = url
    if (previous) URL.revokeObjectURL(previous)
    img.hidden = false
    const dl = el('dl', { class: 'metrics' })
    const field = (name, value) => dl.append(el('dt', { text: name }), el('dd', { text: value }))
    field('Dominant now', s.dominant || 'none')
    field('Valence', num(s.valence, 2))
    field('Arousal', num(s.arousal, 2))
    field('Confidence', num(s.confidence, 2))
    field('Readings', String(s.readings))
    field('Top', (s.top || []).map((t) => `${t.id} ${num(t.score, 2)}`).join(', ') || '—')
    field('Sources', (s.sources || []).map((b) => `${b.source} ${Math.round(b.share * 100)}%`).join(', ') || '—')
    $('state').replaceChildren(el('h3', { text: `Fused state of ${context}` }), dl)
  } catch (e) {
    if (!t.current()) return
    img.hidden = true
    $('state').replaceChildren()
    status.textContent = `Could not draw ${context}: ${e.message}`
  }
}

// ---- frame and health ----------------------------------------------------------------------

async function loadFrame() {
  const box = $('frame')
  const t = ticket('frame')
  let f
  try {
    f = await api(`/v1/users/${enc(state.user)}/frame${q({ window: $('window-select').value })}`)
  } catch (e) {
    if (t.current()) box.replaceChildren(el('p', { class: 'error', text: `Could not build the frame: ${e.message}` }))
    return
  }
  if (!t.current()) return
  const list = (title, items) => el('section', { class: 'card' }, el('h3', { text: title }),
    items.length ? el('ul', {}, ...items.map((m) => el('li', { text: `${m.name} (${m.count})` }))) : el('p', { class: 'muted', text: 'nothing' }))
  const w = f.when || {}
  box.replaceChildren(
    list('Who', f.who || []), list('What', f.what || []), list('Where', f.where || []),
    el('section', { class: 'card' }, el('h3', { text: 'When' }),
      el('p', { text: `${f.memories} memories, ${when(w.first)} – ${when(w.last)}` }),
      el('p', { class: 'muted', text: `short ${w.short ?? 0} · medium ${w.medium ?? 0} · long ${w.long ?? 0}` }),
      el('p', { text: `Emotion: ${f.emotion || 'none'}` })))
}

/** A few families of the Prometheus text, for the summary. */
function parseMetrics(text) {
  const out = {}
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/)
    if (m) out[m[1] + (m[2] || '')] = Number(m[3])
  }
  return out
}

async function refreshHealth() {
  const dot = $('health-dot')
  try {
    const res = await fetch('/readyz')
    const report = await res.json()
    dot.textContent = report.status
    dot.className = `dot ${report.status}`
    const checks = el('ul', {}, ...(report.checks || []).map((c) => el('li', { text: `${c.name}: ${c.status}${c.reason ? ` — ${c.reason}` : ''}` })))
    $('health').replaceChildren(el('h3', { text: `Health: ${report.status}` }), checks)
  } catch (e) {
    dot.textContent = 'unreachable'
    dot.className = 'dot failing'
  }
  try {
    const metrics = parseMetrics(await (await fetch('/metrics')).text())
    const pick = [
      ['Memories', 'memorable_memories'], ['Users', 'memorable_users'], ['Store bytes', 'memorable_store_bytes'],
      ['Memories written', 'memorable_memories_written_total'], ['Recalls', 'memorable_recalls_total'],
      ['Errors', 'memorable_errors_total'], ['HTTP requests', 'memorable_http_requests_total'],
      ['Resident memory', 'memorable_resident_memory_bytes'],
    ]
    const dl = $('metrics')
    dl.replaceChildren()
    for (const [label, name] of pick) {
      // A family's total: the sum of its series (errors by code, requests by route, ...).
      const series = Object.keys(metrics).filter((k) => k === name || k.startsWith(`${name}{`))
      if (series.length === 0 && name !== 'memorable_errors_total') continue
      const total = series.reduce((sum, k) => sum + metrics[k], 0)
      dl.append(el('dt', { text: label }), el('dd', { text: String(total) }))
    }
  } catch { /* the summary is optional */ }
  try {
    const { alerts } = await api('/v1/alerts')
    $('alerts').replaceChildren(...(alerts.length ? alerts.map((a) => el('li', { class: 'alert-firing', text: `${a.rule}: ${a.message}` }))
      : [el('li', { class: 'muted', text: 'No alert is firing.' })]))
  } catch { /* shown by the API error handling */ }
}

// ---- tabs (WAI-ARIA tabs pattern: arrows move, Home / End jump) ---------------------------

function selectTab(tab) {
  for (const t of document.querySelectorAll('[role="tab"]')) {
    const on = t === tab
    t.setAttribute('aria-selected', String(on))
    t.tabIndex = on ? 0 : -1
    $(t.getAttribute('aria-controls')).hidden = !on
  }
  tab.focus()
  if (tab.id === 'tab-health') refreshHealth()
  // Drawn again at the width the panel now has (it had none while hidden).
  if (tab.id === 'tab-emotion' && $('context-select').value) showContext($('context-select').value)
}

function wire() {
  const tabs = [...document.querySelectorAll('[role="tab"]')]
  for (const t of tabs) {
    t.addEventListener('click', () => selectTab(t))
    t.addEventListener('keydown', (e) => {
      const i = tabs.indexOf(t)
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key]
      if (next === undefined) return
      e.preventDefault()
      selectTab(tabs[(next + tabs.length) % tabs.length])
    })
  }
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault()
    sessionStorage.setItem(KEY, $('key').value.trim())
    try { await signIn() } catch { /* signOut already explained a refused key */ }
  })
  $('logout').addEventListener('click', () => signOut(''))
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault()
    state.filters = readFilters()
    state.offset = 0
    loadMemories()
  })
  $('prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); loadMemories() })
  $('next').addEventListener('click', () => { state.offset += PAGE; loadMemories() })
  $('search-form').addEventListener('submit', (e) => { e.preventDefault(); search($('query').value) })
  $('context-select').addEventListener('change', (e) => showContext(e.target.value))
  $('window-select').addEventListener('change', () => loadFrame())
  document.addEventListener('keydown', (e) => {
    // "/" focuses the search box, as on most sites.
    if (e.key === '/' && !['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement.tagName) && !$('app').hidden) {
      e.preventDefault()
      selectTab($('tab-search'))
      $('query').focus()
    }
  })
  if (sessionStorage.getItem(KEY)) signIn().catch(() => {})
  else signOut('')
}

document.addEventListener('DOMContentLoaded', wire)
