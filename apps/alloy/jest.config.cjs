// The three e2e files are independent worlds (own workspace copy, peers on their own ports, own temp dirs), each a chain
// of nx processes at about one core, so two run side by side (one per core): jest's default on 2 cores is one worker,
// which ran them one after another at about one core.
/** @type {import('jest').Config} */
module.exports = { ...require('../../jest.preset.cjs'), displayName: 'alloy', rootDir: __dirname, maxWorkers: 2 };
