/*
  arduino_pressure.ino - pelvic-floor pressure (perineometer / manometry probe)
  at 50 samples per second for the "arduino-pressure" device profile.

  Output, one line per sample at 115200 baud:   <counter>,<adc>\r\n
    counter  0..65535, +1 per sample, wraps
    adc      analogRead(A0), 0..1023

  Wiring (Arduino Uno / Nano, 5 V) with an NXP MPX5050GP (0-50 kPa gauge sensor):
    MPX5050 pin 1 (Vout) -> Arduino A0, with 1 nF to GND and 10 kohm series (datasheet filter)
    MPX5050 pin 2 (GND)  -> Arduino GND
    MPX5050 pin 3 (Vs)   -> Arduino 5V, decoupled with 0.01 uF + 1 uF to GND
    Pressure port P1     -> the probe's air/water line (balloon or closed catheter)

  The profile converts counts to cmH2O with the datasheet transfer function
      Vout = Vs x (0.018 x P[kPa] + 0.04),  1 kPa = 10.1972 cmH2O.
  The program zeroes (tares) the probe to air before insertion, so the sensor's
  own offset tolerance does not matter.
*/

const unsigned long PERIOD_US = 20000;  // 50 Hz
unsigned int counter = 0;
unsigned long next_us;

void setup() {
  Serial.begin(115200);
  next_us = micros();
}

void loop() {
  if ((long)(micros() - next_us) < 0) return;
  next_us += PERIOD_US;
  // average 8 conversions to lower the noise; still well inside 20 ms
  long sum = 0;
  for (int k = 0; k < 8; k++) sum += analogRead(A0);
  Serial.print(counter);
  Serial.print(',');
  Serial.println((int)((sum + 4) / 8));
  counter++;
}
