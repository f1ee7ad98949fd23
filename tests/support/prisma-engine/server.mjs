// TEST SUPPORT, not product: a stand-in for Prisma's query engine binary, for prisma-client-python 0.11.
// See README.md. prisma-client-python starts the "binary" as `<binary> -p PORT --enable-metrics
// --enable-raw-queries` with PRISMA_DML_PATH (the schema) in the environment and talks GraphQL to
// http://localhost:PORT; this process serves that HTTP API on 127.0.0.1 and answers it with Prisma's wasm
// query engine (JSON protocol) over node-postgres.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pg = require('pg');
const { PrismaPg } = require('@prisma/adapter-pg');
const { bindAdapter } = require('@prisma/driver-adapter-utils');
const { parse: parseArray } = require('postgres-array');

const ENGINE_HASH = '393aa359c9ad4a4bb28630fb5613f9c281cde053'; // prisma-client-python 0.11.0's engine
const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);

if (args.includes('--version') || args.includes('-V') || args[0] === 'version') {
  process.stdout.write(`query-engine ${ENGINE_HASH}\n`);
  process.exit(0);
}

const portIndex = Math.max(args.indexOf('-p'), args.indexOf('--port'));
const port = portIndex >= 0 ? Number(args[portIndex + 1]) : Number(process.env.PRISMA_ENGINE_PORT || 4466);
const log = (...parts) => { if (process.env.PRISMA_STANDIN_DEBUG) console.error('[prisma-engine]', ...parts); };

// ---- the schema: datasource URL, and each model's fields (to restore Json/Bytes inputs) ----
const datamodel = process.env.PRISMA_DML_PATH
  ? fs.readFileSync(process.env.PRISMA_DML_PATH, 'utf8')
  : Buffer.from(process.env.PRISMA_DML || '', 'base64').toString('utf8');

function datasourceUrl() {
  if (process.env.OVERWRITE_DATASOURCES) {
    const overrides = JSON.parse(process.env.OVERWRITE_DATASOURCES);
    if (overrides.length && overrides[0].url) return overrides[0].url;
  }
  const block = datamodel.match(/datasource\s+\w+\s*\{([^}]*)\}/);
  const url = block && block[1].match(/url\s*=\s*(?:env\(\s*"([^"]+)"\s*\)|"([^"]+)")/);
  if (!url) throw new Error('no datasource url in the schema');
  return url[1] ? process.env[url[1]] : url[2];
}

const models = {}; // model -> field -> {type, list}
for (const m of datamodel.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
  const fields = {};
  for (const line of m[2].split('\n')) {
    const f = line.trim().match(/^(\w+)\s+(\w+)(\[\])?(\?)?/);
    if (f && !line.trim().startsWith('@@')) fields[f[1]] = { type: f[2], list: Boolean(f[3]) };
  }
  models[m[1]] = fields;
}

// ---- GraphQL (the subset prisma-client-python's query builder writes) -> a parse tree ----
function tokenize(src) {
  const re = /\s+|,|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([A-Za-z_][\w]*)|([{}()[\]:])/gy;
  const tokens = [];
  let m;
  while (re.lastIndex < src.length) {
    const at = re.lastIndex;
    m = re.exec(src);
    if (!m || re.lastIndex === at) throw new Error(`cannot tokenize GraphQL at ${at}: ${src.slice(at, at + 40)}`);
    if (m[1] !== undefined) tokens.push({ t: 'value', v: JSON.parse(m[1]) });
    else if (m[2] !== undefined) tokens.push({ t: 'value', v: Number(m[2]) });
    else if (m[3] !== undefined) tokens.push({ t: 'name', v: m[3] });
    else if (m[4] !== undefined) tokens.push({ t: m[4] });
  }
  return tokens;
}

function parseDocument(src) {
  const tokens = tokenize(src);
  let i = 0;
  const peek = () => tokens[i] || { t: 'eof' };
  const next = () => tokens[i++];
  const expect = (t) => { const tok = next(); if (!tok || tok.t !== t) throw new Error(`expected ${t} in GraphQL`); return tok; };

  function value() {
    const tok = next();
    if (tok.t === 'value') return tok.v;
    if (tok.t === 'name') {
      if (tok.v === 'true') return true;
      if (tok.v === 'false') return false;
      if (tok.v === 'null') return null;
      return tok.v; // a bare enum value
    }
    if (tok.t === '[') {
      const list = [];
      while (peek().t !== ']') list.push(value());
      next();
      return list;
    }
    if (tok.t === '{') {
      const obj = {};
      while (peek().t !== '}') { const key = expect('name').v; expect(':'); obj[key] = value(); }
      next();
      return obj;
    }
    throw new Error(`unexpected token ${tok.t} in GraphQL value`);
  }
  function argumentsList() {
    expect('(');
    const obj = {};
    while (peek().t !== ')') { const key = expect('name').v; expect(':'); obj[key] = value(); }
    next();
    return obj;
  }
  function field() {
    let name = expect('name').v;
    let alias = null;
    if (peek().t === ':') { next(); alias = name; name = expect('name').v; }
    const f = { name, alias, args: null, selection: null };
    if (peek().t === '(') f.args = argumentsList();
    if (peek().t === '{') f.selection = selectionSet();
    return f;
  }
  function selectionSet() {
    expect('{');
    const fields = [];
    while (peek().t !== '}') fields.push(field());
    next();
    return fields;
  }
  if (peek().t === 'name' && (peek().v === 'query' || peek().v === 'mutation')) next();
  const root = selectionSet();
  if (root.length !== 1) throw new Error('expected one operation per GraphQL request');
  return root[0];
}

// ---- the parse tree -> a JSON protocol query ----
const ACTIONS = ['findUnique', 'findFirst', 'findMany', 'createOne', 'createMany', 'updateOne', 'updateMany',
  'upsertOne', 'deleteOne', 'deleteMany', 'aggregate', 'groupBy'];

function toSelection(fields) {
  const selection = {};
  for (const f of fields || []) {
    selection[f.name] = f.args || f.selection
      ? { ...(f.args ? { arguments: f.args } : {}), selection: toSelection(f.selection) }
      : true;
  }
  return selection;
}

// prisma-client-python sends Json field values as JSON text and Bytes as base64 text: tag them by the schema.
function tagValue(fieldInfo, v) {
  if (!fieldInfo || v === null || typeof v !== 'string') return v;
  if (fieldInfo.type === 'Json') return { $type: 'Json', value: v };
  if (fieldInfo.type === 'Bytes') return { $type: 'Bytes', value: v };
  return v;
}

function restoreData(model, data) {
  if (Array.isArray(data)) return data.map((d) => restoreData(model, d));
  if (!data || typeof data !== 'object') return data;
  const fields = models[model] || {};
  const out = {};
  for (const [key, v] of Object.entries(data)) {
    const info = fields[key];
    if (info && models[info.type]) { out[key] = restoreNested(info.type, v); continue; }
    if (info && (info.type === 'Json' || info.type === 'Bytes')) {
      if (v && typeof v === 'object' && !Array.isArray(v) && 'set' in v) out[key] = { ...v, set: tagValue(info, v.set) };
      else out[key] = tagValue(info, v);
      continue;
    }
    out[key] = v;
  }
  return out;
}

function restoreNested(model, ops) {
  if (!ops || typeof ops !== 'object') return ops;
  const out = {};
  for (const [op, v] of Object.entries(ops)) {
    if (op === 'create' || op === 'createMany' || op === 'update' || op === 'upsert' || op === 'connectOrCreate') {
      if (op === 'createMany' && v && v.data) out[op] = { ...v, data: restoreData(model, v.data) };
      else if (op === 'upsert' && v && !Array.isArray(v)) out[op] = { ...v, create: restoreData(model, v.create), update: restoreData(model, v.update) };
      else if (op === 'connectOrCreate' && v && !Array.isArray(v)) out[op] = { ...v, create: restoreData(model, v.create) };
      else if (op === 'update' && v && !Array.isArray(v) && 'data' in v) out[op] = { ...v, data: restoreData(model, v.data) };
      else out[op] = restoreData(model, v);
    } else out[op] = v;
  }
  return out;
}

function toJsonQuery(gql) {
  const f = parseDocument(gql);
  const args = f.args || {};
  if (f.name === 'queryRaw' || f.name === 'executeRaw') {
    return { jsonQuery: { action: f.name, query: { arguments: args, selection: {} } }, action: f.name, key: f.alias || 'result' };
  }
  const m = f.name.match(new RegExp(`^(${ACTIONS.join('|')})(\\w+?)(OrThrow)?$`));
  if (!m) throw new Error(`unsupported operation ${f.name}`);
  const [, base, model, orThrow] = m;
  const action = base + (orThrow || '');
  const restored = { ...args };
  if ('data' in restored) restored.data = restoreData(model, restored.data);
  if (base === 'upsertOne') {
    if ('create' in restored) restored.create = restoreData(model, restored.create);
    if ('update' in restored) restored.update = restoreData(model, restored.update);
  }
  const query = { arguments: restored, selection: toSelection(f.selection) };
  return { jsonQuery: { modelName: model, action, query }, action, key: f.alias || 'result' };
}

// ---- JSON protocol results -> what the GraphQL engine returned ----
function untag(v) {
  if (Array.isArray(v)) return v.map(untag);
  if (v && typeof v === 'object') {
    if (typeof v.$type === 'string' && 'value' in v && Object.keys(v).length === 2) return v.value;
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = untag(x);
    return out;
  }
  return v;
}

// queryRaw: {columns, types, rows} -> [{column: {prisma__type, prisma__value}}] (the 4.x format)
function oldRawRows(result) {
  if (!result || !Array.isArray(result.columns)) return result;
  return result.rows.map((row) => {
    const obj = {};
    result.columns.forEach((col, idx) => {
      const type = result.types[idx];
      const value = row[idx];
      if (value === null) obj[col] = { prisma__type: 'null', prisma__value: null };
      else if (type.endsWith('-array')) {
        const inner = type.slice(0, -'-array'.length);
        obj[col] = { prisma__type: 'array', prisma__value: value.map((x) => ({ prisma__type: inner, prisma__value: x })) };
      } else obj[col] = { prisma__type: type, prisma__value: value };
    });
    return obj;
  });
}

function translateResponse(parsed, action, key) {
  if (parsed.errors) return { errors: parsed.errors };
  const data = parsed.data || {};
  const values = Object.values(data);
  let result = values.length ? values[0] : null;
  result = action === 'queryRaw' ? oldRawRows(result) : untag(result);
  return { data: { [key]: result } };
}

// ---- the engine and the database ----
// Postgres types @prisma/adapter-pg 5.17 rejects ("Failed to deserialize column of type 'Unknown'") but LiteLLM's
// raw queries read (pg_views.viewname is `name`, ARRAY_AGG of it is `name[]`, to_regclass() is `regclass`): read
// them as text / text[].
const TEXT_OID = 25;
const TEXT_ARRAY_OID = 1009;
const READ_AS_TEXT = new Set([18 /* char */, 19 /* name */, 24 /* regproc */, 2205 /* regclass */, 2206 /* regtype */]);
const READ_AS_TEXT_ARRAY = new Set([1003 /* name[] */, 1008 /* regproc[] */, 2210 /* regclass[] */, 2211 /* regtype[] */]);
function textualFields(result) {
  (result && result.fields || []).forEach((field, idx) => {
    if (READ_AS_TEXT.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
    else if (READ_AS_TEXT_ARRAY.has(field.dataTypeID)) {
      field.dataTypeID = TEXT_ARRAY_OID;
      for (const row of result.rows || []) {
        if (Array.isArray(row) && typeof row[idx] === 'string') row[idx] = parseArray(row[idx]);
      }
    }
  });
  return result;
}
function patchQuery(target) {
  const original = target.query.bind(target);
  target.query = (...a) => {
    const r = original(...a);
    return r && typeof r.then === 'function' ? r.then(textualFields) : r;
  };
  return target;
}

async function loadEngineModule() {
  const dir = path.join(here, 'node_modules', '@prisma', 'query-engine-wasm', 'postgresql');
  const bg = await import(path.join(dir, 'query_engine_bg.js'));
  const bytes = fs.readFileSync(path.join(dir, 'query_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './query_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  return bg;
}

function connectionString(url) {
  const u = new URL(url);
  for (const k of [...u.searchParams.keys()]) if (k !== 'sslmode') u.searchParams.delete(k); // Prisma-only options
  return u.toString();
}

const pool = new pg.Pool({ connectionString: connectionString(datasourceUrl()), max: 10 });
patchQuery(pool);
const originalConnect = pool.connect.bind(pool);
// Transactions take a client with pool.connect() (a promise); pool.query uses the callback form internally.
pool.connect = (...a) => (a.length ? originalConnect(...a) : originalConnect().then(patchQuery));

const engineModule = await loadEngineModule();
const engine = new engineModule.QueryEngine(
  { datamodel, logLevel: 'error', logQueries: false },
  (line) => log(line),
  bindAdapter(new PrismaPg(pool)),
);
await engine.connect('{}');

// ---- HTTP ----
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function engineError(message) {
  return { errors: [{ error: message, user_facing_error: { is_panic: false, message, meta: {}, error_code: null } }] };
}

async function runOne(body, txId) {
  const { jsonQuery, action, key } = toJsonQuery(body.query);
  log('query', JSON.stringify(jsonQuery));
  const raw = await engine.query(JSON.stringify(jsonQuery), '{}', txId);
  return translateResponse(JSON.parse(raw), action, key);
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const send = (status, obj, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(typeof obj === 'string' ? obj : JSON.stringify(obj));
  };
  const text = await readBody(req);
  try {
    if (req.method === 'GET' && url.pathname === '/status') return send(200, { status: 'ok' });
    if (url.pathname === '/metrics') {
      const format = url.searchParams.get('format') || 'prometheus';
      return format === 'json' ? send(200, { counters: [], gauges: [], histograms: [] }) : send(200, '', 'text/plain');
    }
    if (req.method === 'POST' && url.pathname === '/transaction/start') {
      const opts = text ? JSON.parse(text) : {};
      const started = await engine.startTransaction(JSON.stringify({
        max_wait: opts.max_wait ?? 2000, timeout: opts.timeout ?? 5000, isolation_level: opts.isolation_level,
      }), '{}');
      return send(200, JSON.parse(started));
    }
    const tx = url.pathname.match(/^\/transaction\/([^/]+)\/(commit|rollback)$/);
    if (req.method === 'POST' && tx) {
      const out = tx[2] === 'commit' ? await engine.commitTransaction(tx[1], '{}') : await engine.rollbackTransaction(tx[1], '{}');
      return send(200, JSON.parse(out || '{}'));
    }
    if (req.method === 'POST' && url.pathname === '/') {
      const body = JSON.parse(text);
      const txId = req.headers['x-transaction-id'] || undefined;
      if (Array.isArray(body.batch)) {
        // One transaction for the batch (prisma-client-python's batch_ sends transaction: true).
        const id = txId || JSON.parse(await engine.startTransaction(JSON.stringify({ max_wait: 2000, timeout: 30000 }), '{}')).id;
        const batchResult = [];
        try {
          for (const item of body.batch) {
            const r = await runOne(item, id);
            batchResult.push(r);
            if (r.errors) throw Object.assign(new Error('batch failed'), { result: r });
          }
          if (!txId) await engine.commitTransaction(id, '{}');
        } catch (e) {
          if (!txId) await engine.rollbackTransaction(id, '{}');
          if (e.result) return send(200, e.result);
          throw e;
        }
        return send(200, { batchResult });
      }
      return send(200, await runOne(body, txId));
    }
    return send(404, engineError(`no route ${req.method} ${url.pathname}`));
  } catch (e) {
    log('error', e && e.stack);
    return send(200, engineError(String(e && e.message ? e.message : e)));
  }
}

const server = http.createServer((req, res) => { handle(req, res); });
server.listen(port, '127.0.0.1', () => log(`listening on 127.0.0.1:${port}`));
const stop = async () => { server.close(); try { await engine.disconnect('{}'); } catch { /* exiting */ } await pool.end(); process.exit(0); };
process.on('SIGTERM', stop);
// The engine lives as long as the client that started it: if that process dies without stopping us (SIGKILL),
// we are re-parented; exit then, so no test leaves an engine behind.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) stop(); }, 1000).unref();
process.on('SIGINT', stop);
