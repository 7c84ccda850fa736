import { useMemo } from 'react';
import qrcode from 'qrcode-generator';

/** A QR code of `text` as an inline SVG (pure JS, no network). */
export function QrCode({ text, label, size = 192 }: { text: string; label: string; size?: number }) {
  const svg = useMemo(() => {
    const qr = qrcode(0, 'M');
    qr.addData(text);
    qr.make();
    return qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  }, [text]);
  return (
    <div
      role="img"
      aria-label={label}
      className="rounded bg-white p-1"
      style={{ width: size, height: size }}
      dangerouslySetInnerHTML={{ __html: svg }}
    />
  );
}
