/*
  arduino_emg.ino - raw surface EMG at 1000 samples per second for the
  "arduino-emg" device profile of the biofeedback program.

  Output, one line per sample at 230400 baud:   <counter>,<adc>\r\n
    counter  0..65535, +1 per sample, wraps (lets the program see lost lines)
    adc      analogRead(A0), 0..1023 (the EMG board's output rests near 512)

  Wiring (Arduino Uno / Nano, 5 V):
    EMG board (e.g. MyoWare 2.0 with its output switch on RAW, or any analog
    EMG amplifier whose output is biased to mid-supply)
      board +Vs / VIN  ->  Arduino 5V
      board GND        ->  Arduino GND
      board RAW / OUT  ->  Arduino A0
    Electrodes: two on the muscle (or the vaginal / anal probe's two contacts),
    reference on a bony, electrically quiet spot (e.g. the hip bone).

  Safety: run the laptop on battery (no charger, dock or monitor cable) while
  electrodes are on a person; never connect a person to mains-powered circuits.

  The profile turns counts into microvolts with
      uV = (adc - 512) x 5 V / 1023 / gain x 1e6     (gain taken as 1000)
  Edit "scale" and "offset" in the profile if your board's gain differs.
*/

const unsigned long PERIOD_US = 1000;   // 1 kHz
unsigned int counter = 0;               // 16 bits on AVR: wraps at 65536
unsigned long next_us;

void setup() {
  Serial.begin(230400);
  analogReference(DEFAULT);
  // Faster ADC clock (prescaler 32, about 38 us per conversion) so 1 kHz leaves time to print.
  ADCSRA = (ADCSRA & ~0x07) | 0x05;
  next_us = micros();
}

void loop() {
  if ((long)(micros() - next_us) < 0) return;
  next_us += PERIOD_US;
  int adc = analogRead(A0);
  Serial.print(counter);
  Serial.print(',');
  Serial.println(adc);                  // println ends the line with \r\n
  counter++;
}
