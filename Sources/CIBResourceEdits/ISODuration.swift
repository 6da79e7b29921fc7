import CRMStatusView

/// An ISO 8601 duration as crm_resource's --lifetime reads it (crm_time_parse_duration):
/// P[nY][nM][nW][nD][T[nH][nM][nS]]. Pure.
struct ISODuration: Equatable {
    var years = 0, months = 0, days = 0, seconds = 0

    /// Numbers above this are refused (a lifetime of more than ~11,000 years is a typo).
    static let maximumNumber = 100_000_000

    init?(_ text: String) {
        guard text.first == "P", text.count > 1, text.count <= 64 else { return nil }
        var inTime = false, number: Int?
        for character in text.dropFirst() {
            if let digit = character.wholeNumberValue, character.isASCII {
                let value = (number ?? 0) * 10 + digit
                guard value <= Self.maximumNumber else { return nil }
                number = value
                continue
            }
            if character == "T" {
                guard !inTime, number == nil else { return nil }
                inTime = true
                continue
            }
            guard let value = number else { return nil }
            switch (inTime, character) {
            case (false, "Y"): years += value
            case (false, "M"): months += value
            case (false, "W"): days += 7 * value
            case (false, "D"): days += value
            case (true, "H"): seconds += 3600 * value
            case (true, "M"): seconds += 60 * value
            case (true, "S"): seconds += value
            default: return nil
            }
            number = nil
        }
        guard number == nil else { return nil }
    }

    /// `time` (seconds since the epoch, UTC) plus this duration: years and months on the
    /// calendar (the day kept, clamped to the month's length), then days and seconds.
    func added(to time: Int) -> Int {
        var civil = CivilTime(time)
        let monthIndex = civil.year * 12 + (civil.month - 1) + years * 12 + months
        civil.year = monthIndex / 12
        civil.month = monthIndex % 12 + 1
        civil.day = min(civil.day, CivilTime.daysIn(month: civil.month, year: civil.year))
        return civil.seconds + days * 86_400 + seconds
    }
}

/// A UTC calendar time (proleptic Gregorian), for lifetimes. Pure.
struct CivilTime: Equatable {
    var year: Int, month: Int, day: Int, secondOfDay: Int

    /// From CrmMonView.utcTime's text ("Sun Dec  6 13:40:00 2026"): one civil-from-days in the project.
    init(_ seconds: Int) {
        let fields = CrmMonView.utcTime(seconds).split(separator: " ")
        precondition(fields.count == 5, "CivilTime: utcTime gives weekday, month, day, time, year")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let clock = fields[3].split(separator: ":").compactMap { Int($0) }
        guard let monthIndex = months.firstIndex(of: String(fields[1])), let day = Int(fields[2]), let year = Int(fields[4]), clock.count == 3 else {
            preconditionFailure("CivilTime: utcTime's text \(fields)")
        }
        self.year = year
        month = monthIndex + 1
        self.day = day
        secondOfDay = clock[0] * 3600 + clock[1] * 60 + clock[2]
    }

    /// Seconds since the epoch (days_from_civil).
    var seconds: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return (era * 146_097 + dayOfEra - 719_468) * 86_400 + secondOfDay
    }

    static func daysIn(month: Int, year: Int) -> Int {
        precondition((1...12).contains(month), "daysIn: month \(month)")
        if month == 2 { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28 }
        return [4, 6, 9, 11].contains(month) ? 30 : 31
    }

    /// "2026-12-06 23:31:44Z", as crm_resource writes a lifetime's end.
    static func text(_ seconds: Int) -> String {
        let time = CivilTime(seconds)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = String(time.year)
        let paddedYear = String(repeating: "0", count: max(0, 4 - year.count)) + year
        return "\(paddedYear)-\(two(time.month))-\(two(time.day)) \(two(time.secondOfDay / 3600)):\(two(time.secondOfDay % 3600 / 60)):\(two(time.secondOfDay % 60))Z"
    }
}
