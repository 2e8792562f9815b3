import { duplicateKey } from '../context';

describe('duplicateKey', () => {
  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"x":{"b":1,"c":{"d":[1,2],"d":3}}}', 'd'],
    ['[{"a":1},{"a":1,"b":2,"b":3}]', 'b'],
    ['{"s":"a \\" \\\\ , { \\"s\\": 1","s":2}', 's'],
  ])('finds the key repeated in one object: %s', (text, key) => {
    expect(duplicateKey(text)).toBe(key);
  });

  it.each([
    '{"a":1,"b":{"a":2}}',
    '[{"a":1},{"a":2}]',
    '{"a":"{\\"a\\":1,\\"a\\":2}"}',
    '{"a":[{"b":1},{"b":2}],"b":3}',
    '{}',
    '[]',
    '"a"',
    '{"":1,"a":{"":2}}',
  ])('finds none where every object has its keys once: %s', (text) => {
    expect(duplicateKey(text)).toBeNull();
  });
});
