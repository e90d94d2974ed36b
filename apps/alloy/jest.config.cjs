// The three e2e files are independent worlds (own workspace copy, peers on their own ports, own temp dirs) and spend
// most of their time waiting on `nx` child processes, so they run side by side: jest's default on 2 cores is one worker,
// which ran them one after another at about one core.
/** @type {import('jest').Config} */
module.exports = { ...require('../../jest.preset.cjs'), displayName: 'alloy', rootDir: __dirname, maxWorkers: 3 };
