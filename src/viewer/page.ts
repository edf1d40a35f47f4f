// The viewer's HTML shell, served at GET /. Everything dynamic lives in the bundle (/viewer.js).

export const viewerPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>townhall</title>
<link rel="icon" href="data:,">
<style>
  * { box-sizing: border-box; } [hidden] { display: none !important; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: #1d2126; color: #e8e8e8; }
  header { display: flex; gap: 1rem; align-items: baseline; padding: 0.5rem 1rem; background: #14171b; }
  header h1 { margin: 0; font-size: 1.1rem; }
  #status { color: #9fb3c8; } #status.offline { color: #f0a35e; }
  #llm-badge { background: #8a4b12; color: #fff; border-radius: 3px; padding: 0 0.4rem; font-size: 0.8rem; }
  main { display: flex; gap: 1rem; padding: 1rem; align-items: flex-start; }
  #stage { flex: 1 1 auto; min-width: 0; }
  #map { display: block; width: 100%; height: auto; image-rendering: pixelated; cursor: crosshair; border-radius: 4px; background: #2a2f36; }
  aside { flex: 0 0 20rem; display: flex; flex-direction: column; gap: 1rem; }
  section { background: #262b31; border-radius: 4px; padding: 0.75rem; }
  h2 { margin: 0 0 0.5rem; font-size: 0.95rem; color: #c9d4df; }
  label { display: block; margin-bottom: 0.4rem; } input[type=text] { width: 100%; }
  input, select, button { font: inherit; padding: 0.25rem 0.4rem; border-radius: 3px; border: 1px solid #4a525c; background: #1d2126; color: inherit; }
  button { cursor: pointer; background: #3b6ea5; border-color: #3b6ea5; }
  button.secondary { background: #3a4048; border-color: #3a4048; }
  .row { display: flex; gap: 0.5rem; margin-top: 0.5rem; }
  .hint { color: #98a2ad; font-size: 0.85rem; } .error { color: #f28b82; font-size: 0.85rem; min-height: 1em; }
  #log { max-height: 50vh; overflow-y: auto; }
  .conversation { border-top: 1px solid #3a4048; padding-top: 0.4rem; margin-top: 0.4rem; }
  .conversation h3 { margin: 0 0 0.2rem; font-size: 0.8rem; color: #98a2ad; font-weight: normal; }
  .message b { color: #c9d4df; }
  .usage-row { display: flex; gap: 0.5rem; font-size: 0.85rem; } .usage-row span:first-child { flex: 1; }
  .usage-row span:not(:first-child) { color: #98a2ad; font-variant-numeric: tabular-nums; }
  @media (max-width: 900px) { main { flex-direction: column; } aside { flex-basis: auto; width: 100%; } }
</style>
</head>
<body>
<header><h1>townhall</h1><select id="world-select" aria-label="World"></select><span id="status">connecting…</span><span id="llm-badge" hidden></span></header>
<main>
  <div id="stage"><canvas id="map" width="640" height="480" aria-label="Town map"></canvas></div>
  <aside>
    <section id="player">
      <h2>Play</h2>
      <form id="join-form">
        <label>Name <input type="text" id="join-name" maxlength="40" placeholder="Your name" required></label>
        <label>Character <select id="join-character"></select></label>
        <div class="row"><button type="submit" id="join">Join the town</button></div>
      </form>
      <div id="joined" hidden>
        <div>You are <b id="me-name"></b>.</div>
        <p class="hint" id="hint">Click the map to walk there; click someone to invite them to talk.</p>
        <div id="invite" hidden>
          <div id="invite-text"></div>
          <div class="row"><button type="button" id="accept">Accept</button><button type="button" class="secondary" id="reject">Reject</button></div>
        </div>
        <div id="walking" hidden></div>
        <form id="chat" hidden>
          <input type="text" id="message" maxlength="500" placeholder="Say something…" autocomplete="off">
          <div class="row"><button type="submit" id="send">Send</button></div>
        </form>
        <div class="row" id="in-conversation" hidden><button type="button" class="secondary" id="leave-conversation">Leave conversation</button></div>
        <div class="row"><button type="button" class="secondary" id="leave">Leave the town</button></div>
      </div>
      <div class="error" id="input-error"></div>
    </section>
    <section id="usage">
      <h2>LLM cost</h2>
      <div class="hint" id="usage-total">No LLM calls in the last 24 hours.</div>
      <div id="usage-agents"></div>
    </section>
    <section>
      <h2>Conversations</h2>
      <div id="log"><p class="hint">Nobody has said anything yet.</p></div>
    </section>
  </aside>
</main>
<script type="module" src="/viewer.js"></script>
</body>
</html>
`
