// The world switcher's entries and the ?world=<id> URL.
import { test } from 'tap'
import { requestedWorld, worldHref, worldOptions } from '../../src/viewer/worlds.ts'

test('entries name the world, its status and where a fork came from', async (t) => {
  t.same(worldOptions([
    { worldId: 'a', name: 'Brackenford', status: 'running', isDefault: true },
    { worldId: 'b', name: 'Saltmarsh', status: 'archived', isDefault: false },
    { worldId: 'c', name: 'Saltmarsh II', status: 'running', isDefault: false, forkedFrom: { worldId: 'b', step: 120 } },
    { worldId: 'd', name: 'Orphan', status: 'inactive', isDefault: false, forkedFrom: { worldId: 'gone', step: 3 } }
  ]), [
    { value: 'a', text: 'Brackenford (default) · running' },
    { value: 'b', text: 'Saltmarsh · archived' },
    { value: 'c', text: 'Saltmarsh II · running — fork of Saltmarsh at step 120' },
    { value: 'd', text: 'Orphan · inactive — fork of gone at step 3' }
  ])
})

test('?world=<id> picks the world; without it, the default', async (t) => {
  t.equal(requestedWorld('http://h/?world=abc'), 'abc')
  t.equal(requestedWorld('http://h/'), null)
  t.equal(requestedWorld('http://h/?world='), null)
  t.equal(worldHref('http://h/?world=abc&x=1', 'def'), 'http://h/?world=def&x=1')
})
