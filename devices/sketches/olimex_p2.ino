/*
  olimex_p2.ino - Olimex SHIELD-EKG-EMG on an Arduino, sending OpenEEG P2
  packets at 256 Hz, 57600 baud, for the "olimex-ekg-emg" device profile.
  (Olimex's own ShieldEkgEmgDemo.ino sends the same format; either works.)

  Packet, 17 bytes:  A5 5A 02 <counter> <ch1 hi> <ch1 lo> ... <ch6 hi> <ch6 lo> <switches>
    counter   0..255, +1 per packet, wraps
    chN       analogRead(A(N-1)), 0..1023, big-endian

  Wiring: stack the shield on the Arduino (5 V). Channel 1 of the shield
  (CH1_IN+ / CH1_IN- on the electrode cable, DRL to the reference electrode)
  appears on A0. Keep the shield's gain trimmer at its factory setting, or
  change "scale" in the profile (total gain about 2848 by default).
  Safety: laptop on battery while electrodes are on a person.
*/

const unsigned long PERIOD_US = 3906;   // 256 Hz (1e6 / 256 = 3906.25 us)
byte packet[17] = {0xA5, 0x5A, 0x02, 0};
byte counter = 0;
unsigned long next_us;
unsigned long frac = 0;

void setup() {
  Serial.begin(57600);
  next_us = micros();
}

void loop() {
  if ((long)(micros() - next_us) < 0) return;
  next_us += PERIOD_US;
  frac += 25;                           // the 0.25 us left over each period
  if (frac >= 100) { frac -= 100; next_us += 1; }
  packet[3] = counter++;
  for (int ch = 0; ch < 6; ch++) {
    int adc = analogRead(A0 + ch);
    packet[4 + 2 * ch] = (byte)(adc >> 8);
    packet[5 + 2 * ch] = (byte)(adc & 0xFF);
  }
  packet[16] = 0;                       // switches: none fitted
  Serial.write(packet, 17);
}
