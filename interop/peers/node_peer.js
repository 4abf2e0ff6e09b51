// An echo peer built on Node's `ws`, driven by text commands (see interop_test.go).
//   node node_peer.js server <port>   prints "PORT <n>" once listening
//   node node_peer.js client <url>    prints "OPEN" once connected
// DEFLATE=1 enables permessage-deflate. On close it prints "CLOSED <code> <reason>".
const { WebSocketServer, WebSocket } = require('ws');

const [mode, arg] = process.argv.slice(2);
const deflate = process.env.DEFLATE === '1';

function handle(ws, cmd) {
  const [name, ...rest] = cmd.split(':');
  switch (name) {
    case 'close':
      ws.close(Number(rest[0]), rest.slice(1).join(':'));
      break;
    case 'frag': { // one text message in n fragments: "p0", "p1", ...
      const n = Number(rest[0]);
      for (let i = 0; i < n; i++) ws.send('p' + i, { fin: i === n - 1 });
      break;
    }
    case 'ping':
      ws.ping('hb');
      break;
    case 'ext':
      ws.send('ext:' + ws.extensions);
      break;
    case 'flood': // n numbered text messages
      for (let i = 0; i < Number(rest[0]); i++) ws.send('f' + i);
      break;
  }
}

function attach(ws) {
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const s = data.toString();
      if (s.startsWith('cmd:')) return handle(ws, s.slice(4));
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('pong', (d) => ws.send('pong:' + d.toString()));
  ws.on('close', (code, reason) => {
    console.log(`CLOSED ${code} ${reason.toString()}`);
    if (mode === 'client') process.exit(0);
  });
}

if (mode === 'server') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(arg), perMessageDeflate: deflate, maxPayload: 64 << 20 });
  wss.on('listening', () => console.log('PORT ' + wss.address().port));
  wss.on('connection', attach);
} else {
  const ws = new WebSocket(arg, { perMessageDeflate: deflate, maxPayload: 64 << 20 });
  attach(ws);
  ws.on('open', () => console.log('OPEN'));
  ws.on('error', (e) => { console.log('ERROR ' + e.message); process.exit(1); });
}
