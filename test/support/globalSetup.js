/** Before any test file: the scratch folder every test makes its temporary folders in. */
const { mkdirSync } = require('node:fs');
const path = require('node:path');

module.exports = async () => {
  mkdirSync(path.join(__dirname, '..', '..', 'var', 'test'), { recursive: true });
};
