/*
 * The JavaScript examples of the quick reference, byte for byte, so users can
 * see them work against this server (served at /examples).
 *
 * Each example runs in its own block so its `const ws` does not clash with
 * the others. The "Common Patterns" snippets assign `ws.onmessage` on an
 * existing socket, so each one runs after its own copy of the Quick Start
 * example, which opens, registers and subscribes that socket. The helpers
 * they call (updateProgressBar, showMessage, addPhotoToGallery,
 * updateSessionCard) are defined by examples-page.js, loaded first.
 */

// Quick Start: Connect to WebSocket Server
{
const ws = new WebSocket('ws://localhost:5100/ws');

ws.onopen = () => {
  // Register client
  ws.send(JSON.stringify({
    type: 'register',
    client_type: 'gui',  // 'gui', 'mobile', or 'lightroom'
    client_name: 'My Client'
  }));
  
  // Subscribe to channels
  ws.send(JSON.stringify({
    type: 'subscribe',
    channels: ['jobs', 'photos', 'sessions']
  }));
};

ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  console.log('Event:', message.type, message);
};
}

// Common Patterns: Handle Job Progress (on its own Quick Start connection)
{
const ws = new WebSocket('ws://localhost:5100/ws');

ws.onopen = () => {
  // Register client
  ws.send(JSON.stringify({
    type: 'register',
    client_type: 'gui',  // 'gui', 'mobile', or 'lightroom'
    client_name: 'My Client'
  }));
  
  // Subscribe to channels
  ws.send(JSON.stringify({
    type: 'subscribe',
    channels: ['jobs', 'photos', 'sessions']
  }));
};

ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  console.log('Event:', message.type, message);
};

ws.onmessage = (event) => {
  const msg = JSON.parse(event.data);
  
  if (msg.type === 'job_progress') {
    updateProgressBar(msg.job_id, msg.progress);
    showMessage(msg.message);
  }
};
}

// Common Patterns: Handle Photo Import (on its own Quick Start connection)
{
const ws = new WebSocket('ws://localhost:5100/ws');

ws.onopen = () => {
  // Register client
  ws.send(JSON.stringify({
    type: 'register',
    client_type: 'gui',  // 'gui', 'mobile', or 'lightroom'
    client_name: 'My Client'
  }));
  
  // Subscribe to channels
  ws.send(JSON.stringify({
    type: 'subscribe',
    channels: ['jobs', 'photos', 'sessions']
  }));
};

ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  console.log('Event:', message.type, message);
};

ws.onmessage = (event) => {
  const msg = JSON.parse(event.data);
  
  if (msg.type === 'photo_imported') {
    addPhotoToGallery({
      id: msg.photo_id,
      name: msg.file_name,
      sessionId: msg.session_id
    });
  }
};
}

// Common Patterns: Handle Session Updates (on its own Quick Start connection)
{
const ws = new WebSocket('ws://localhost:5100/ws');

ws.onopen = () => {
  // Register client
  ws.send(JSON.stringify({
    type: 'register',
    client_type: 'gui',  // 'gui', 'mobile', or 'lightroom'
    client_name: 'My Client'
  }));
  
  // Subscribe to channels
  ws.send(JSON.stringify({
    type: 'subscribe',
    channels: ['jobs', 'photos', 'sessions']
  }));
};

ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  console.log('Event:', message.type, message);
};

ws.onmessage = (event) => {
  const msg = JSON.parse(event.data);
  
  if (msg.type === 'session_updated') {
    updateSessionCard(msg.session_id, {
      progress: msg.progress_percent,
      processed: msg.processed_photos,
      total: msg.total_photos
    });
  }
};
}

// Testing: Test Connection
{
const ws = new WebSocket('ws://localhost:5100/ws');
ws.onopen = () => console.log('Connected!');
ws.onerror = (e) => console.error('Error:', e);
}
