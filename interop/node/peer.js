// An echo peer built on Node's `ws`, driven by text commands from the Go test
// (see ../commands_test.go):
//   node peer.js server <port>   listens on 127.0.0.1 (0: any port), prints "PORT <n>"
//   node peer.js client <url>    connects, prints "OPEN <extensions>"
// DEFLATE=1 offers/accepts permessage-deflate. It prints "CLOSED <code> <reason>"
// when the connection ends (the close frame the other side sent).
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const [mode, arg] = process.argv.slice(2);
const deflate = process.env.DEFLATE === '1';
const maxPayload = 64 << 20;

// fragment i of a "cmd:frag" message: size bytes of one value per fragment.
function fragment(i, size, binary) {
  return binary ? Buffer.alloc(size, i & 0xff) : 'abcdefghijklmnopqrstuvwxyz'[i % 26].repeat(size);
}

function handle(ws, cmd) {
  const [name, ...rest] = cmd.split(':');
  switch (name) {
    case 'close': // cmd:close:<code>:<reason>
      ws.close(Number(rest[0]), rest.slice(1).join(':'));
      break;
    case 'frag': { // cmd:frag:<n>:<size>:<text|binary>: one message in n frames
      const [n, size, kind] = [Number(rest[0]), Number(rest[1]), rest[2]];
      const binary = kind === 'binary';
      for (let i = 0; i < n; i++) ws.send(fragment(i, size, binary), { fin: i === n - 1, binary });
      break;
    }
    case 'ping': // our pong to this ping comes back as "pong:hb"
      ws.ping('hb');
      break;
    case 'ext':
      ws.send('ext:' + ws.extensions);
      break;
    case 'flood': { // "f0", "f1", ... until killed
      let i = 0;
      const pump = () => {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (ws.bufferedAmount < (1 << 20)) {
          for (let k = 0; k < 200; k++) ws.send('f' + i++);
        }
        setImmediate(pump);
      };
      pump();
      break;
    }
    case 'burst': { // cmd:burst:<n>: "b0" ... "b<n-1>", then "SENT <n>" on stdout once all is handed to the kernel
      const n = Number(rest[0]);
      for (let i = 0; i < n; i++) {
        ws.send('b' + i, i === n - 1 ? () => console.log('SENT ' + n) : undefined);
      }
      break;
    }
    default:
      ws.send('unknown:' + cmd);
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
  ws.on('error', (e) => console.log('ERROR ' + e.message));
}

if (mode === 'server') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(arg), perMessageDeflate: deflate, maxPayload });
  wss.on('listening', () => console.log('PORT ' + wss.address().port));
  wss.on('connection', (ws) => { console.log('OPEN ' + ws.extensions); attach(ws); });
} else {
  const ws = new WebSocket(arg, { perMessageDeflate: deflate, maxPayload });
  attach(ws);
  ws.on('open', () => console.log('OPEN ' + ws.extensions));
  ws.on('unexpected-response', (_req, res) => { console.log('ERROR HTTP ' + res.statusCode); process.exit(1); });
}
