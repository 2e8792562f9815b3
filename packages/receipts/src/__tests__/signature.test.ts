import nacl from 'tweetnacl';
import { SigningKey } from '../keys';
import { pae, publicKeyFromRaw, verifyBytes } from '../signature';

// RFC 8032 section 7.1, TEST 1-3.
const VECTORS = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pub: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

// The group order L; adding it to S gives a second, malleated encoding of the same signature.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function malleate(sig: Buffer): Buffer {
  const s = BigInt('0x' + Buffer.from(sig.subarray(32)).reverse().toString('hex')) + L;
  const le = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
  return Buffer.concat([sig.subarray(0, 32), le]);
}

describe('Ed25519 signatures', () => {
  it.each(VECTORS)(
    'node:crypto and tweetnacl produce the RFC 8032 signature byte for byte (pub $pub)',
    ({ seed, pub, msg, sig }) => {
      const key = SigningKey.fromSeed(Buffer.from(seed, 'hex'));
      const message = Buffer.from(msg, 'hex');
      expect(key.publicKey.toString('hex')).toBe(pub);
      const ours = key.sign(message);
      const theirs = Buffer.from(
        nacl.sign.detached(message, nacl.sign.keyPair.fromSeed(Buffer.from(seed, 'hex')).secretKey),
      );
      expect(ours.toString('hex')).toBe(sig);
      expect(theirs.toString('hex')).toBe(sig);
      expect(verifyBytes(publicKeyFromRaw(key.publicKey), message, ours)).toBe(true);
    },
  );

  it('rejects an S+L malleated signature that tweetnacl accepts', () => {
    const { seed, msg, sig } = VECTORS[1] as (typeof VECTORS)[number];
    const key = SigningKey.fromSeed(Buffer.from(seed, 'hex'));
    const bad = malleate(Buffer.from(sig, 'hex'));
    expect(verifyBytes(publicKeyFromRaw(key.publicKey), Buffer.from(msg, 'hex'), bad)).toBe(false);
    // Documented reason we verify with node:crypto and not tweetnacl.
    expect(nacl.sign.detached.verify(Buffer.from(msg, 'hex'), bad, key.publicKey)).toBe(true);
  });

  it('rejects signatures of the wrong length or over other bytes', () => {
    const key = SigningKey.generate();
    const pub = publicKeyFromRaw(key.publicKey);
    const sig = key.sign(Buffer.from('a'));
    expect(verifyBytes(pub, Buffer.from('b'), sig)).toBe(false);
    expect(verifyBytes(pub, Buffer.from('a'), sig.subarray(1))).toBe(false);
  });

  it('builds the DSSE v1 pre-authentication encoding with byte lengths', () => {
    expect(pae('t/x', 'h\u00e9').toString('utf8')).toBe('DSSEv1 3 t/x 3 h\u00e9');
  });
});
