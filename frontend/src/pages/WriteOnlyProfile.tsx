import { useState, type FormEvent } from 'react';
import { request } from '../api/client';
import { Button, Dialog, Field, Input, Textarea } from '../components/ui';
import { ErrorAlert } from '../components/common';
import { saveBlob } from '../lib/utils';
import { generateKeyPair, keyFileContent, parsePrivateKey, parsePublicKey, type KeyPair } from '../lib/writeOnlyKeys';

/**
 * "New write-only profile": the server keeps only an X25519 public key, so a stolen server or
 * database cannot decrypt the backups (docs/FORMAT.md, version 2). The key pair is generated
 * here by WebCrypto (or by `dbackup-recover keygen`, whose public key is pasted); the private
 * key is shown once and downloaded, never sent.
 */
export function WriteOnlyProfileDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [pair, setPair] = useState<KeyPair | null>(null);
  const [downloaded, setDownloaded] = useState(false);
  const [pasted, setPasted] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const publicKey = pair ? pair.publicKey : parsePublicKey(pasted);
  const generate = async () => {
    setError(null);
    try {
      setPair(await generateKeyPair());
      setDownloaded(false);
    } catch {
      setError(
        new Error(
          'This browser cannot generate X25519 keys (WebCrypto). Run `dbackup-recover keygen` and paste its publicKey below.',
        ),
      );
    }
  };
  const download = () => {
    if (!pair) return;
    const file = `dbackup-private-key_${(name.trim() || 'profile').replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
    saveBlob(new Blob([keyFileContent(pair, name.trim())], { type: 'application/json' }), file);
    setDownloaded(true);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!publicKey) return;
    setError(null);
    setBusy(true);
    try {
      await request('POST', '/api/encryption-profiles', { name, kind: 'public', publicKey });
      // Forget the private key as soon as the profile exists.
      setPair(null);
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      title="New write-only profile"
      description="Backups are encrypted to a public key; only the private key, which dbackup never stores, can restore them. Lose it and the backups are lost."
    >
      <form onSubmit={submit} className="space-y-3" data-testid="write-only-profile">
        <Field label="Name">{(id) => <Input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
        {pair ? (
          <div className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200">
            <p className="font-medium">Private key — shown once, not stored by dbackup</p>
            <code data-testid="private-key" className="block break-all font-mono text-xs">
              {pair.privateKey}
            </code>
            <p className="text-xs">
              Public key: <span className="break-all font-mono" data-testid="public-key">{pair.publicKey}</span>
            </p>
            <Button type="button" size="sm" onClick={download}>
              Download private key
            </Button>
          </div>
        ) : (
          <>
            <Button type="button" variant="secondary" onClick={generate}>
              Generate a key pair in this browser
            </Button>
            <Field label="…or paste a public key" hint="64 hex characters, e.g. the publicKey printed by dbackup-recover keygen.">
              {(id, d) => (
                <Textarea
                  id={id}
                  aria-describedby={d}
                  value={pasted}
                  onChange={(e) => setPasted(e.target.value)}
                  rows={2}
                  className="font-mono text-xs"
                  spellCheck={false}
                />
              )}
            </Field>
          </>
        )}
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button type="button" variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={busy || !name.trim() || !publicKey || (pair !== null && !downloaded)}>
            {pair && !downloaded ? 'Download the private key first' : 'Create'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * The private key a restore of a write-only profile's backup needs: pasted, or loaded from the
 * downloaded file. It goes to the server with this restore only.
 */
export function PrivateKeyField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const valid = parsePrivateKey(value) !== null;
  return (
    <Field
      label="Private key"
      hint="This backup was encrypted to a write-only profile: paste its private key (64 hex) or load the file downloaded when the profile was created. It is used for this restore only."
      error={value.trim() && !valid ? 'Not a private key (64 hex characters or the downloaded file)' : undefined}
    >
      {(id, d) => (
        <div className="space-y-1" data-testid="private-key-field">
          <Input
            id={id}
            aria-describedby={d}
            type="password"
            value={value}
            onChange={(e) => onChange(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            className="font-mono"
          />
          <input
            type="file"
            accept=".json,.txt,.key,application/json,text/plain"
            aria-label="Load the private key file"
            className="text-xs"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (file) onChange(parsePrivateKey(await file.text()) ?? '');
            }}
          />
        </div>
      )}
    </Field>
  );
}

/** The private key to send, or `undefined` when none (or an invalid one) was given. */
export function privateKeyToSend(value: string): string | undefined {
  return parsePrivateKey(value) ?? undefined;
}
