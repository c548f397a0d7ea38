import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SocketIndex, type IndexKeys, type Indexable } from '../src/guard/socket-index.js';

const S = suite('socket index');

class Entry implements Indexable {
  indexKeys: IndexKeys | undefined;
  constructor(readonly name: string) {}
}

const names = (entries: Entry[]): string[] => entries.map((e) => e.name).sort();

S('one entry per key, then several, then one again; re-indexing moves an entry; a session of "" is not indexed', () => {
  const index = new SocketIndex<Entry>();
  const [a, b, c] = [new Entry('a'), new Entry('b'), new Entry('c')];
  index.set(a, 's1', 'alice');
  assert.equal(names(index.ofSession('s1')), ['a']);
  index.set(b, 's1', 'alice');
  index.set(b, 's1', 'alice');
  index.set(c, 's2', 'alice');
  assert.equal(names(index.ofSession('s1')), ['a', 'b']);
  assert.equal(names(index.ofSubject('alice')), ['a', 'b', 'c']);
  index.delete(a);
  assert.equal(names(index.ofSession('s1')), ['b']);
  assert.equal(names(index.ofSubject('alice')), ['b', 'c']);
  index.set(b, 's3', 'bob');
  assert.equal(index.ofSession('s1'), []);
  assert.equal(names(index.ofSubject('bob')), ['b']);
  assert.equal(b.indexKeys, { sessionId: 's3', sub: 'bob' });
  index.set(a, '', 'carol');
  assert.equal(index.ofSession(''), []);
  assert.equal(names(index.ofSubject('carol')), ['a']);
  index.delete(a);
  index.delete(a);
  assert.equal(index.ofSubject('carol'), []);
});

S('a snapshot does not change while entries are deleted; clear() forgets every entry and its keys', () => {
  const index = new SocketIndex<Entry>();
  const entries = ['a', 'b', 'c'].map((n) => new Entry(n));
  for (const e of entries) index.set(e, 's', 'alice');
  const snapshot = index.ofSubject('alice');
  for (const e of snapshot) index.delete(e);
  assert.is(snapshot.length, 3);
  assert.equal(index.ofSubject('alice'), []);
  for (const e of entries) index.set(e, 's', 'alice');
  index.clear();
  assert.equal(index.ofSession('s'), []);
  assert.ok(entries.every((e) => e.indexKeys === undefined));
});

S.run();
