// IndexedDB for the page: the last drawer, each chat's newest history page, the
// outbox, dictation recordings waiting for their transcript and small metadata
// (the pairing). Every key starts with the companion
// origin, so one client can later hold several computers. The schema is
// numbered and upgraded step by step; a newer tab asking to upgrade makes this
// one close its connection instead of blocking it. A write counts only when its
// transaction completes, and nothing here awaits the network inside one.

const DB_NAME = "codexremote";
export const SCHEMA_VERSION = 2;
export const STORES = ["drawer", "pages", "outbox", "meta", "recordings"];

/** Step-by-step upgrades: index i brings a database from version i to i + 1. */
const UPGRADES = [
  (db) => {
    for (const name of ["drawer", "pages", "outbox", "meta"]) db.createObjectStore(name);
  },
  // 2: dictation (lib/recordings.js): audio kept until its transcript reached the composer.
  (db) => {
    db.createObjectStore("recordings");
  },
];

/**
 * @param {{ origin?: string, name?: string }} [options]
 * @returns {Promise<Store>}
 */
export async function openStore({ origin = location.origin, name = DB_NAME } = {}) {
  const prefix = `${origin}|`;
  let db = null;
  try {
    db = await openDatabase(name);
  } catch {
    db = null; // private browsing or storage disabled: keep working in memory
  }
  if (!db) return memoryStore(prefix);

  let closed = false;
  const watch = (database) => {
    database.onversionchange = () => {
      database.close();
      closed = true;
    };
  };
  watch(db);

  async function database() {
    if (closed) {
      db = await openDatabase(name);
      watch(db);
      closed = false;
    }
    return db;
  }

  /** Run `work` in one transaction; it may return a function that reads results once it completed. */
  async function run(storeName, mode, work) {
    const tx = (await database()).transaction(storeName, mode);
    const after = work(tx.objectStore(storeName));
    await done(tx);
    return typeof after === "function" ? after() : undefined;
  }

  return {
    prefix,
    async get(storeName, key) {
      return run(storeName, "readonly", (s) => {
        const request = s.get(prefix + key);
        return () => request.result;
      });
    },
    async put(storeName, key, value) {
      await run(storeName, "readwrite", (s) => {
        s.put(value, prefix + key);
      });
    },
    async del(storeName, key) {
      await run(storeName, "readwrite", (s) => {
        s.delete(prefix + key);
      });
    },
    /** Every [key, value] of this origin in `storeName`, keys without the prefix, in key order. */
    async entries(storeName) {
      const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
      const [keys, values] = await run(storeName, "readonly", (s) => {
        const k = s.getAllKeys(range);
        const v = s.getAll(range);
        return () => [k.result, v.result];
      });
      return keys.map((key, i) => [String(key).slice(prefix.length), values[i]]);
    },
    /** Remove everything this origin stored (unpairing). */
    async clearOrigin() {
      const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
      const tx = (await database()).transaction(STORES, "readwrite");
      for (const storeName of STORES) tx.objectStore(storeName).delete(range);
      await done(tx);
    },
    close() {
      if (!closed) db.close();
      closed = true;
    },
  };
}

function openDatabase(name) {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") {
      reject(new Error("IndexedDB is not available"));
      return;
    }
    const request = indexedDB.open(name, SCHEMA_VERSION);
    request.onupgradeneeded = (event) => {
      const db = request.result;
      for (let version = event.oldVersion; version < SCHEMA_VERSION; version += 1) UPGRADES[version](db);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => {
      // Another tab holds an older version open; it closes on versionchange, then we succeed.
    };
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

/** Same interface, nothing survives a reload: used where IndexedDB is unavailable. */
function memoryStore(prefix) {
  const maps = new Map(STORES.map((s) => [s, new Map()]));
  const clone = (value) => (value === undefined ? undefined : structuredClone(value));
  return {
    prefix,
    memoryOnly: true,
    async get(storeName, key) {
      return clone(maps.get(storeName).get(key));
    },
    async put(storeName, key, value) {
      maps.get(storeName).set(key, clone(value));
    },
    async del(storeName, key) {
      maps.get(storeName).delete(key);
    },
    async entries(storeName) {
      return [...maps.get(storeName).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, clone(v)]);
    },
    async clearOrigin() {
      for (const map of maps.values()) map.clear();
    },
    close() {},
  };
}

/** @typedef {Awaited<ReturnType<typeof openStore>>} Store */
